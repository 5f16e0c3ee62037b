# The embedded real-data default: BlitzNet300 s4 on the 20 real COCO images of
# data/samples (shipped in the repository; any set of the same layout can be
# named with --cfg-options or DATA_ROOT for `make demo`), trained on CPU for a
# bounded number of iterations by `make demo` and evaluated on the same
# images (COCO bbox AP + mIoU). To make such a set from a COCO download, see
# docs/data.md.
_base_ = './blitznet300_coco.py'
data_root = 'data/samples/'
ann_file = 'annotations/instances_train2017.json'
model = dict(
    backbone=dict(init_cfg=None),  # no ImageNet download on CPU boxes
    # from scratch, Kaiming lets the segmentation loss shape the random trunk
    # (docs/training_recipe.md, "Initialisation"; docs/learning_check.md)
    seg_head=dict(
        init_cfg=dict(
            _delete_=True,
            type='Kaiming',
            layer='Conv2d',
            distribution='uniform')))

# ~10 minutes of training on 2 CPU cores (~8 s per batch of 4); the demo
# scores the result with tools/test.py, so no validation during training
max_iters = 75
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
# from scratch (no ImageNet trunk): a larger step than the paper's 1e-4
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[int(max_iters * 0.8)],
        gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=25, max_keep_ckpts=2, save_last=True))

train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0)))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=dict(img='train2017/')))
test_dataloader = val_dataloader
test_evaluator = [
    dict(type='CocoMetric', ann_file=data_root + ann_file, metric='bbox'),
    dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'])
]
# set these to the test ones to validate during training
val_cfg = None
val_dataloader = None
val_evaluator = None
