# BlitzNet300 s4 on BDD100K in its official layout (docs/multi_task.md):
# boxes of the 10 det_20 classes, the drivable area (3 classes: direct,
# alternative, background; PNGs read as they are) as the first segmentation
# task and lane markings as a multi-label second task (lane marking /
# dashed / vertical: sigmoid + BCE, thresholded output), each with its own
# head on the shared neck. Run tools/dataset_converters/bdd100k_to_coco.py
# data/bdd100k first (COCO json of the boxes, multi-label lane PNGs).
_base_ = './blitznet300_coco.py'
data_root = 'data/bdd100k/'
model = dict(
    num_classes=10,
    seg_num_classes=3,
    seg_background=False,
    seg_tasks=[dict(name='lane', num_classes=3, multi_label=True)])
# masks of every task through the same transforms (LoadTaskMasks stacks
# them behind gt_seg_map; PackBlitzNetInputs splits them again)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadBlitzNetAnnotations', with_bbox=True, with_seg=True),
    dict(type='LoadTaskMasks'),
    dict(type='BlitzNetPhotoMetricDistortion'),
    dict(
        type='ZoomOut',
        mean=[103.06, 115.90, 123.15],
        ratio_range=(1.05, 4),
        prob=0.5,
        seg_border='background'),
    dict(type='CoverageRandomCrop'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(300, 300), keep_ratio=False),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(2, 2), keep_empty=False),
    dict(type='PackBlitzNetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(300, 300), keep_ratio=False),
    dict(type='LoadBlitzNetAnnotations', with_bbox=True, with_seg=True),
    dict(type='LoadTaskMasks'),
    dict(
        type='PackBlitzNetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='BlitzNetBDD100KDataset',
        data_root=data_root,
        ann_file='labels/det_20/det_train_coco.json',
        data_prefix=dict(
            img='images/100k/train/',
            seg='labels/drivable/masks/train/',
            lane='labels/lane/multi_label/train/'),
        # images without boxes keep their drivable area and lanes
        filter_cfg=dict(filter_empty_gt=False, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='BlitzNetBDD100KDataset',
        data_root=data_root,
        ann_file='labels/det_20/det_val_coco.json',
        data_prefix=dict(
            img='images/100k/val/',
            seg='labels/drivable/masks/val/',
            lane='labels/lane/multi_label/val/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        type='CocoMetric',
        metric='bbox',
        format_only=False,
        ann_file=data_root + 'labels/det_20/det_val_coco.json'),
    dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'], classwise=True),
    dict(
        type='BlitzNetSegMetric',
        task='lane',
        prefix='lane',
        iou_metrics=['mIoU'],
        classwise=True)
]
test_evaluator = val_evaluator
