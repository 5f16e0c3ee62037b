# BlitzNet512 s4: finest level 128x128 (C2), 8 levels, 131,070 anchors.
_base_ = './blitznet512_voc.py'
model = dict(
    neck=dict(finest_level=0),
    bbox_head=dict(
        anchor_generator=dict(
            scales=(.02, .08, .225, .37, .515, .66, .805, .95))))
