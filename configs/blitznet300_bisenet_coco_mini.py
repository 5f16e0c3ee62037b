# The learning check of the BiSeNet segmentation branch (docs/bisenet.md):
# blitznet300_coco_mini.py (from scratch on data/samples) with the head of
# blitznet300_bisenet_voc.py; Kaiming on its convolutions as the from-scratch
# configs use for BlitzNet's head (docs/training_recipe.md, "Initialisation").
_base_ = './blitznet300_coco_mini.py'
model = dict(
    seg_head=dict(
        _delete_=True,
        type='BiSeNetSegHead',
        in_channels=512,
        spatial_level=0,
        spatial_channels=(64, 64, 128),
        spatial_strides=(2, 1, 1),
        context_levels=(2, 3),
        context_channels=128,
        fusion_channels=256,
        channels=256,
        norm_cfg={{_base_.norm_cfg}},
        loss_at='logits',
        init_cfg=dict(type='Kaiming', layer='Conv2d', distribution='uniform')))
