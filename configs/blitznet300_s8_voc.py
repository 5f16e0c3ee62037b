# BlitzNet300 s8: finest level 38x38 (C3), 6 levels, 11,640 anchors.
_base_ = './blitznet300_voc.py'
model = dict(
    neck=dict(finest_level=1),
    bbox_head=dict(
        anchor_generator=dict(scales=(.10, .20, .3875, .575, .7625, .95))))
