# BlitzNet512 s4: finest level 128x128 (C2), 131,070 anchors.
_base_ = './blitznet512_voc.py'
levels = 8
model = dict(
    neck=dict(finest_level=0),
    bbox_head=dict(
        in_channels=(512, ) * levels,
        anchor_generator=dict(
            featmap_sizes=(128, 64, 32, 16, 8, 4, 2, 1),
            scales=(.02, .08, .225, .37, .515, .66, .805, .95))),
    seg_head=dict(in_channels=(512, ) * levels))
