# BlitzNet300 s4 with BiSeNet's segmentation design as the segmentation branch
# (Yu et al., ECCV 2018; docs/bisenet.md): a spatial path from the finest neck
# level (75x75, one stride-2 conv to BiSeNet's 1/8: 38x38), the stride-16 and
# stride-32 levels (19x19, 10x10) as the context path with mmseg's Attention
# Refinement Modules and a global pool, fused by mmseg's Feature Fusion Module.
_base_ = './blitznet300_voc.py'
model = dict(
    seg_head=dict(
        _delete_=True,
        type='BiSeNetSegHead',
        in_channels=512,  # per neck level
        spatial_level=0,
        spatial_channels=(64, 64, 128),
        spatial_strides=(2, 1, 1),
        context_levels=(2, 3),
        context_channels=128,
        fusion_channels=256,
        channels=256,
        norm_cfg={{_base_.norm_cfg}},
        loss_at='logits'))
