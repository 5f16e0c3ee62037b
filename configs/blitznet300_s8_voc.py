# BlitzNet300 s8: finest level 38x38 (C3), 11,640 anchors.
_base_ = './blitznet300_voc.py'
levels = 6
model = dict(
    neck=dict(finest_level=1),
    bbox_head=dict(
        in_channels=(512, ) * levels,
        anchor_generator=dict(
            featmap_sizes=(38, 19, 10, 5, 3, 1),
            scales=(.10, .20, .3875, .575, .7625, .95))),
    seg_head=dict(in_channels=(512, ) * levels))
