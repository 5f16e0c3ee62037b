# Joint VOC set (paper Sec. 4.1): VOC07 trainval (boxes only) + VOC12
# train-seg-aug (boxes + masks: SegmentationClass first, SBD's
# SegmentationClassAug second); VOC07 test for mAP. The augmentation is the
# authors' (docs/training_recipe.md, "Augmentation").
dataset_type = 'BlitzNetVOCDataset'
data_root = 'data/VOCdevkit/'
input_size = 300  # the network input side S, stated once
mean = [103.06, 115.90, 123.15]
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadBlitzNetAnnotations', with_bbox=True, with_seg=True),
    dict(type='BlitzNetPhotoMetricDistortion'),
    # zoom-out; the canvas is background in images that have a mask, as
    # the authors' code ('ignore' is the alternative)
    dict(
        type='ZoomOut',
        mean=mean,
        ratio_range=(1.05, 4),
        prob=0.5,
        seg_border='background'),
    dict(type='CoverageRandomCrop'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    # drop boxes under 2 px after the resize (authors' code)
    dict(type='FilterAnnotations', min_gt_bbox_wh=(2, 2), keep_empty=False),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    # loaded after Resize: the ground truth stays at the original size
    dict(type='LoadBlitzNetAnnotations', with_bbox=True, with_seg=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
# tools/test.py --tta: the test pipeline at each scale factor, flipped and
# not (blitznet_mm.utils.tta_pipeline; or state a tta_pipeline)
tta_scale_factors = (1.0, )
tta_flip = True
voc07_trainval = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='VOC2007/ImageSets/Main/trainval.txt',
    data_prefix=dict(sub_data_root='VOC2007/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=32))
voc12_train_aug = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='VOC2012/ImageSets/Segmentation/train_aug.txt',
    data_prefix=dict(
        sub_data_root='VOC2012/',
        seg='VOC2012/SegmentationClass/',
        seg_aug='VOC2012/SegmentationClassAug/'),
    filter_cfg=dict(filter_empty_gt=False, min_size=32))
voc07_test = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='VOC2007/ImageSets/Main/test.txt',
    data_prefix=dict(sub_data_root='VOC2007/'),
    test_mode=True)
voc12_val_seg = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='VOC2012/ImageSets/Segmentation/val.txt',
    data_prefix=dict(
        sub_data_root='VOC2012/', seg='VOC2012/SegmentationClass/'),
    seg_required=True,
    test_mode=True)

train_dataloader = dict(
    batch_size=32,
    # workers per GPU: docs/benchmark.md, "Training input pipeline"
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        type='SharedPipelineConcatDataset',
        datasets=[voc07_trainval, voc12_train_aug],
        pipeline=train_pipeline,
        # VOCDataset names its year in the metainfo
        ignore_keys=['dataset_type']))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(voc07_test, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator
