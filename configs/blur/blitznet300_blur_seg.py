# Blur-region segmentation (BDNet-style, docs/blur.md): BlitzNet300 s4 as a
# segmentation-only network (no detection head) on a masks-only set made by
# tools/dataset_converters/make_blur_dataset.py - classes background (sharp,
# label 0), motion (1), defocus (2). Any folder of images + class-index PNGs
# trains the same way: docs/custom_data.md, "Your own segmentation data".
_base_ = [
    '../_base_/models/blitznet300.py', '../_base_/schedules/adam_65k.py',
    '../_base_/default_runtime.py'
]
classes = ('motion', 'defocus')  # foreground; background is label 0
data_root = 'data/blur/'
input_size = 300
# no detection head: nothing reads the detection train_cfg / test_cfg
model = dict(
    num_classes=len(classes), bbox_head=None, train_cfg=None, test_cfg=None)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadBlitzNetAnnotations', with_bbox=False, with_label=False),
    # no photometric distortion or zoom: they would change what blur looks like
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    # after Resize: the ground truth stays at the original size for scoring
    dict(type='LoadBlitzNetAnnotations', with_bbox=False, with_label=False),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
dataset = dict(
    type='BlitzNetSegDataset',
    data_root=data_root,
    metainfo=dict(classes=classes))
train_dataloader = dict(
    batch_size=16,
    # workers per GPU: docs/benchmark.md, "Training input pipeline"
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        dataset,
        pipeline=train_pipeline,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train')))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        dataset,
        pipeline=test_pipeline,
        test_mode=True,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val')))
test_dataloader = val_dataloader
val_evaluator = dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# a few thousand images: 20k iterations of 16, x0.1 at 14k and 18k
max_iters = 20000
train_cfg = dict(max_iters=max_iters, val_interval=2000)
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[14000, 18000],
        gamma=0.1)
]
default_hooks = dict(
    checkpoint=dict(interval=2000),
    visualization=dict(type='DetVisualizationHook'))
