# Paper Table 3, detection only (78.9 mAP on VOC12 val): no segmentation head.
_base_ = './blitznet300_voc12.py'
model = dict(seg_head=None)
val_evaluator = dict(
    _delete_=True, type='VOCMetric', metric='mAP',
    eval_mode='area')  # the VOC2012 protocol
test_evaluator = val_evaluator
