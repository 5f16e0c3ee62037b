# mmdet's CornerHead on BlitzNet300 s4's stride-4 neck level (CornerNet,
# Law & Deng, ECCV 2018), BlitzNet's segmentation branch on all 7 levels;
# CornerNet's recipe unchanged (PhotoMetricDistortion, RandomCenterCropPad
# 511 crops at ratios 0.6-1.3, flip; Adam 5e-4 with clipping, 210 epochs;
# centred-padding test), the crop swapped for its mask-carrying version.
_base_ = [
    'mmdet::cornernet/cornernet_hourglass104_8xb6-210e-mstest_coco.py',
    './_base_/seg_branch.py'
]
# BlitzNet300's trunk and neck as configs/_base_/models/blitznet300.py
# states them (mmengine lets only one base define `model`, so the trunk is
# restated here), with its input normalisation (Caffe-style ResNet-50)
norm_cfg = dict(type='BN', requires_grad=True)
mean, std, bgr_to_rgb = [103.06, 115.90, 123.15], [1, 1, 1], False
model = dict(
    type='BlitzNet',
    data_preprocessor=dict(
        mean=mean,
        std=std,
        bgr_to_rgb=bgr_to_rgb,
        **_base_.seg_data_preprocessor),
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='caffe',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    neck=dict(
        _delete_=True,
        type='BlitzNetNeck',
        in_channels=(256, 512, 1024, 2048),
        num_extra_blocks=3,
        finest_level=0,
        out_channels=512,
        fusion_block=dict(type='ResSkip', mid_channels=128),
        style='caffe',
        norm_cfg=norm_cfg),
    # one level, the finest (stride 4): CornerHead reads num_feat_levels
    bbox_head=dict(in_channels=512, num_feat_levels=1),
    seg_head=dict(_base_.seg_head, in_channels=512))


def _with_masks(t):
    t = dict(t, type=_base_.with_masks.get(t['type'], t['type']))
    if t['type'] == 'RandomCenterCropPadWithMasks':  # pads with the mean
        t.update(mean=mean, std=std, to_rgb=bgr_to_rgb)
    return t


train_pipeline = [_with_masks(t) for t in _base_.train_pipeline]
test_pipeline = [_with_masks(t) for t in _base_.test_pipeline]
train_dataloader = dict(
    dataset=dict(type=_base_.seg_dataset_type, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=_base_.seg_dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [_base_.val_evaluator, _base_.seg_metric]
test_evaluator = val_evaluator
custom_hooks = _base_.seg_hooks
visualizer = dict(type='BlitzNetLocalVisualizer')
