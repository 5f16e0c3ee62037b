# BlitzNet300 s4 with DeepLabv3+'s decoder as the segmentation branch: mmseg's
# DepthwiseSeparableASPPHead on the neck levels (docs/mmseg_heads.md). ASPP
# runs on the stride-16 level (19x19 at 300 px) with the low-level features
# of the stride-4 level (75x75); the atrous rates are DeepLab's (6, 12, 18)
# scaled to the 19x19 map (DeepLab's are for 33x33 maps at 513 px).
_base_ = './blitznet300_voc.py'
model = dict(
    seg_head=dict(
        _delete_=True,
        type='mmseg.DepthwiseSeparableASPPHead',
        in_channels=512,
        in_index=2,
        channels=256,
        dilations=(1, 3, 6, 9),
        c1_in_channels=512,
        c1_channels=48,
        dropout_ratio=0.1,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_at='logits'))
