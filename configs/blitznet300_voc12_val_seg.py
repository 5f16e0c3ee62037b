# Scores BlitzNet300 s4 (trained with blitznet300_voc.py) on VOC12 val-seg:
# mIoU over 21 classes at the original resolution, 255 ignored (Sec. 4.2).
#   python tools/test.py configs/blitznet300_voc12_val_seg.py CHECKPOINT
_base_ = './blitznet300_voc.py'
test_dataloader = dict(
    dataset=dict(
        _base_.voc12_val_seg, _delete_=True, pipeline=_base_.test_pipeline))
test_evaluator = dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'])
