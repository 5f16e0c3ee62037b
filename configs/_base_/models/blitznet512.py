# BlitzNet512 s8 (paper Sec. 3, Table 7): 4 downscale blocks, finest level
# C3 (64x64 at 512), 7 levels, 32,766 anchors.
_base_ = './blitznet300.py'
model = dict(
    neck=dict(num_extra_blocks=4, finest_level=1),
    bbox_head=dict(
        anchor_generator=dict(scales=(.04, .10, .27, .44, .61, .78, .95))))
