# BlitzNet300 s4: boxes of the 80 COCO things (data/coco instances) and
# masks of the 171 COCO-Stuff classes (80 things + 91 stuff, no background:
# 171 segmentation outputs; 255 unlabelled) from mmseg's coco_stuff164k
# layout, data/coco_stuff164k/annotations/{train,val}2017/*_labelTrainIds.png
# (docs/custom_data.md, "Your own segmentation classes"; docs/data.md).
_base_ = './blitznet300_coco.py'
data_root = 'data/'
# the segmentation set, stated once; the dataset's (mmseg's COCOStuffDataset
# names) must agree (TaskSettingsCheckHook)
model = dict(seg_num_classes=171, seg_background=False)
dataset = dict(type='BlitzNetCocoStuffDataset', data_root=data_root)
train_dataloader = dict(
    dataset=dict(
        dataset,
        ann_file='coco/annotations/instances_train2017.json',
        data_prefix=dict(
            img='coco/train2017/',
            seg='coco_stuff164k/annotations/train2017/'),
        # images without things keep their stuff masks
        filter_cfg=dict(filter_empty_gt=False)))
val_dataloader = dict(
    dataset=dict(
        dataset,
        ann_file='coco/annotations/instances_val2017.json',
        data_prefix=dict(
            img='coco/val2017/', seg='coco_stuff164k/annotations/val2017/')))
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        type='CocoMetric',
        metric='bbox',
        format_only=False,
        ann_file=data_root + 'coco/annotations/instances_val2017.json'),
    dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'], classwise=True)
]
test_evaluator = val_evaluator
