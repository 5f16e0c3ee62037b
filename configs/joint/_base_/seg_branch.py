# BlitzNet's segmentation branch for an mmdet detector config (issue 21;
# docs/custom_data.md, "Add segmentation to your detector"). A joint config
# lists its mmdet config and this file as bases and uses the names below;
# everything else (pipeline, schedule, optimizer) stays its detector's recipe.
custom_imports = dict(imports=['blitznet_mm'], allow_failed_imports=False)

# the batch pads masks with the ignored label as it pads images; an image
# that came without a mask gets an all-ignored one (BlitzNetDataPreprocessor;
# the label is the model's ignore_index, 255, given to it by BlitzNet)
seg_data_preprocessor = dict(type='BlitzNetDataPreprocessor', pad_seg=True)
# BlitzNet's branch on every neck level (in_channels: the neck's width);
# masks from the instances: background 0, class c -> c + 1
seg_head = dict(
    type='BlitzNetSegHead',
    channels=64,
    resize_mode='nearest',
    loss_at='logits',
    # from scratch or on an ImageNet trunk alike: the branch is new
    init_cfg=dict(
        type='Xavier', layer='Conv2d', distribution='uniform', bias=0))

# mmdet transform -> the one that carries gt_seg_map too (LoadAnnotations:
# the mask from the instances or a PNG, all 255 for an image without one)
with_masks = dict(
    LoadAnnotations='LoadBlitzNetAnnotations',
    Mosaic='MosaicWithMasks',
    CachedMosaic='CachedMosaicWithMasks',
    MixUp='MixUpWithMasks',
    CachedMixUp='CachedMixUpWithMasks',
    RandomCrop='RandomCropWithMasks',
    RandomCenterCropPad='RandomCenterCropPadWithMasks')
seg_dataset_type = 'BlitzNetCocoDataset'
seg_metric = dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'])
# the dataset, pipeline and metric must match the model's task settings
# (classes, ignored label, pixel mean)
seg_hooks = [dict(type='TaskSettingsCheckHook')]
