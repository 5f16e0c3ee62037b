# BlitzNet300 s4, ResNet-50 (paper Sec. 3, Fig. 2; docs/training_recipe.md).
# The number of classes is stated once, on the model, and given to both
# heads; the input size is the pipeline's (configs/_base_/datasets), the
# anchors follow it at run time.
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='BlitzNet',
    num_classes=20,
    # the ignored segmentation label (void, padding, an image without a
    # mask): the model gives it to the seg heads, their losses and the
    # data preprocessor's seg_pad_value
    ignore_index=255,
    data_preprocessor=dict(
        # mmdet's, accepting images without a mask among images with one
        type='BlitzNetDataPreprocessor',
        mean=[103.06, 115.90, 123.15],  # BGR, no std division (Sec. 4.1)
        std=[1, 1, 1],
        bgr_to_rgb=False,
        pad_size_divisor=1,
        pad_seg=True,
        # host-to-GPU copies overlap compute (pinned loader memory)
        non_blocking=True),
    backbone=dict(
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
        type='BlitzNetNeck',
        in_channels=(256, 512, 1024, 2048),
        num_extra_blocks=3,
        finest_level=0,
        out_channels=512,
        fusion_block=dict(type='ResSkip', mid_channels=128),
        style='caffe',
        norm_cfg=norm_cfg),
    bbox_head=dict(
        type='BlitzNetDetHead',
        in_channels=512,  # per neck level
        anchor_generator=dict(
            type='BlitzNetAnchorGenerator',
            scales=(.04, .10, .27, .44, .61, .78, .95),
            ratios=(2, 3)),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
        # the authors' init: near-uniform initial class scores
        init_cfg=dict(
            type='VarianceScaling',
            layer='Conv2d',
            factor=0.1,
            mode='fan_in',
            bias=0)),
    seg_head=dict(
        type='BlitzNetSegHead',
        in_channels=512,  # per neck level
        channels=64,
        resize_mode='nearest',
        loss_seg=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            avg_non_ignore=True,
            loss_weight=1.0),
        loss_at='logits',
        init_cfg=dict(
            type='Xavier', layer='Conv2d', distribution='uniform', bias=0)),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0.,  # each ground truth's best anchor is positive
            ignore_iof_thr=-1,
            gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=3,
        hard_negative_mining='batch'),  # authors' code; 'image' = mmdet SSD
    test_cfg=dict(
        score_thr=0.01,
        nms_pre_per_class=400,
        # split_thr: per-class NMS above 1000 boxes (mmcv batched_nms)
        nms=dict(type='nms', iou_threshold=0.45, split_thr=1000),
        max_per_class=50,
        max_per_img=200))
# tools/test.py --tta wraps the model: boxes merged as mmdet's DetTTAModel
# with test_cfg's nms and max_per_img, label maps from the mean probability
tta_model = dict(type='BlitzNetTTAModel')
