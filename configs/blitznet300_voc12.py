# Paper Table 3, joint: BlitzNet300 s4 trained on VOC12 train-seg-aug only
# (boxes + masks), scored on VOC12 val (80.0 mAP / 72.8 mIoU in the paper).
_base_ = [
    './_base_/models/blitznet300.py', './_base_/datasets/voc0712.py',
    './_base_/schedules/adam_40k.py', './_base_/default_runtime.py'
]
train_dataloader = dict(dataset=dict(datasets=[_base_.voc12_train_aug]))
val_dataloader = dict(
    dataset=dict(
        _base_.voc12_val_seg, _delete_=True, pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='VOCMetric', metric='mAP', eval_mode='area'),  # VOC2012 protocol
    dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'])
]
test_evaluator = val_evaluator
