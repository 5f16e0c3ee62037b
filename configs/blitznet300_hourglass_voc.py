# Paper Table 8: BlitzNet300 s4 with the HourglassFusion fusion block in the
# upscale stream
# (78.7 / 75.6 VOC07 mAP / VOC12-val mIoU; ResSkip: 79.1 / 75.7).
_base_ = './blitznet300_voc.py'
model = dict(neck=dict(fusion_block=dict(type='HourglassFusion')))
