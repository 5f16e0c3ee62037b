# BlitzNet300 s4 on COCO panoptic annotations (mmdet's layout:
# data/coco/annotations/panoptic_{train,val}2017.json and the PNGs in
# annotations/panoptic_{train,val}2017/): boxes of the thing segments (80
# classes; crowd segments are ignored boxes) and the semantic map of every
# segment (133 classes, things then stuff, read from the json; no
# background: 133 segmentation outputs; void 255). docs/custom_data.md,
# "Your own segmentation classes"; docs/data.md.
_base_ = './blitznet300_coco.py'
data_root = 'data/coco/'
model = dict(seg_num_classes=133, seg_background=False)
# boxes are scored from the dataset's own instances (no instances json)
test_pipeline = [
    dict(t, meta_keys=t['meta_keys'] +
         ('instances', )) if t['type'] == 'PackDetInputs' else t
    for t in _base_.test_pipeline
]
dataset = dict(type='BlitzNetCocoPanopticDataset', data_root=data_root)
train_dataloader = dict(
    dataset=dict(
        dataset,
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(
            img='train2017/', seg='annotations/panoptic_train2017/'),
        filter_cfg=dict(filter_empty_gt=False)))
val_dataloader = dict(
    dataset=dict(
        dataset,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='CocoMetric', metric='bbox', format_only=False),
    dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'], classwise=True)
]
test_evaluator = val_evaluator
