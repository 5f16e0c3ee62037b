# BlitzNet512 s8 on VOC07+12 (+SBD masks). Paper: 81.5 VOC07 mAP with seg.
_base_ = './blitznet300_voc.py'
input_size = 512
levels = 7
model = dict(
    neck=dict(num_extra_blocks=4, finest_level=1),
    bbox_head=dict(
        in_channels=(512, ) * levels,
        anchor_generator=dict(
            input_size=input_size,
            featmap_sizes=(64, 32, 16, 8, 4, 2, 1),
            scales=(.04, .10, .27, .44, .61, .78, .95))),
    seg_head=dict(in_channels=(512, ) * levels))
# 512 schedule (spec Sec. 7): batch 16, 75k iterations, decays at 45k/60k
max_iters = 75000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[45000, 60000], gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=16)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadBlitzNetAnnotations', with_bbox=True, with_seg=True),
    dict(type='PhotoMetricDistortion', brightness_delta=32,
         contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
         hue_delta=18),
    dict(type='Expand', mean={{_base_.mean}}, to_rgb=False,
         ratio_range=(1.05, 4), seg_ignore_label=255, prob=0.5),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9),
         min_crop_size=0.3),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadBlitzNetAnnotations', with_bbox=True, with_seg=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(datasets=[
        dict(pipeline=train_pipeline),
        dict(pipeline=train_pipeline)
    ]))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
