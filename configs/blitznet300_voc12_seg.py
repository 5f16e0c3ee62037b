# Paper Table 3, segmentation only (72.4 mIoU on VOC12 val): no detection head.
_base_ = './blitznet300_voc12.py'
# no detection head: nothing reads the detection train_cfg / test_cfg
model = dict(bbox_head=None, train_cfg=None, test_cfg=None)
val_evaluator = dict(
    _delete_=True, type='BlitzNetSegMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
