# BlitzNet300 s4 with Receptive Field Blocks on its output levels where RFB Net
# puts them (Liu et al., ECCV 2018; docs/rfb.md): RFB-s on the shallow maps
# (75x75, 38x38), RFB on the next three (19, 10, 5), the coarsest unchanged.
_base_ = './blitznet300_voc.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='RFBNeck',
        neck={{_base_.model.neck}},
        small_levels=(0, 1),
        levels=(2, 3, 4),
        channels=512,
        norm_cfg={{_base_.norm_cfg}}))
