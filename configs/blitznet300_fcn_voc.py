# BlitzNet300 s4 with mmseg's FCNHead as the segmentation branch, on the
# finest neck level (75x75, stride 4; docs/mmseg_heads.md).
_base_ = './blitznet300_voc.py'
model = dict(
    seg_head=dict(
        _delete_=True,
        type='mmseg.FCNHead',
        in_channels=512,
        in_index=0,
        channels=128,
        num_convs=2,
        concat_input=True,
        dropout_ratio=0.1,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False))
