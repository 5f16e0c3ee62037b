# BlitzNet512 s8 on COCO (80 classes). Paper Table 6 test-dev AP 34.2.
_base_ = ['./blitznet512_voc.py']
dataset_type = 'BlitzNetCocoDataset'
data_root = 'data/coco/'
model = dict(bbox_head=dict(num_classes=80), seg_head=dict(num_classes=80))
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
    dict(type='CocoMetric', ann_file=data_root +
         'annotations/instances_val2017.json', metric='bbox'),
    dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'])
]
test_evaluator = val_evaluator
max_iters = 700000
train_cfg = dict(max_iters=max_iters, val_interval=50000)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[400000, 550000], gamma=0.1)
]
