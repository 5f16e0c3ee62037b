# COCO 2017 with semantic masks from the instances (paper Sec. 4.3): the
# VOC base's pipelines and loaders on COCO files.
_base_ = './voc0712.py'
dataset_type = 'BlitzNetCocoDataset'
data_root = 'data/coco/'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/instances_val2017.json',
        metric='bbox',
        format_only=False),
    dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'])
]
test_evaluator = val_evaluator
