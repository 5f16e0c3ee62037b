# Joint VOC set (BLITZNET_SPEC.md Sec. 7): VOC07 trainval (boxes only) +
# VOC12 train-seg-aug (boxes + SBD masks); VOC07 test for mAP.
dataset_type = 'BlitzNetVOCDataset'
data_root = 'data/VOCdevkit/'
input_size = 300
mean = [103.06, 115.90, 123.15]
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadBlitzNetAnnotations', with_bbox=True, with_seg=True),
    dict(type='PhotoMetricDistortion', brightness_delta=32,
         contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
         hue_delta=18),
    # zoom-out; the new border of the mask is ignored (255), not background
    dict(type='Expand', mean=mean, to_rgb=False, ratio_range=(1.05, 4),
         seg_ignore_label=255, prob=0.5),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9),
         min_crop_size=0.3),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    # loaded after Resize: the ground truth stays at the original size
    dict(type='LoadBlitzNetAnnotations', with_bbox=True, with_seg=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(type=dataset_type, data_root=data_root,
                 ann_file='VOC2007/ImageSets/Main/trainval.txt',
                 data_prefix=dict(sub_data_root='VOC2007/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=32),
                 pipeline=train_pipeline),
            dict(type=dataset_type, data_root=data_root,
                 ann_file='VOC2012/ImageSets/Segmentation/train_aug.txt',
                 data_prefix=dict(sub_data_root='VOC2012/',
                                  seg='VOC2012/SegmentationClassAug/'),
                 filter_cfg=dict(filter_empty_gt=False, min_size=32),
                 pipeline=train_pipeline),
        ]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='VOC2007/ImageSets/Main/test.txt',
                 data_prefix=dict(sub_data_root='VOC2007/'),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator
