# Paper Table 3, segmentation only (72.4 mIoU on VOC12 val): no detection head.
_base_ = './blitznet300_voc12.py'
model = dict(bbox_head=None)
val_evaluator = dict(
    _delete_=True, type='BlitzNetSegMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
