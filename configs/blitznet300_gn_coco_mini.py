# The from-scratch config of data/samples with GroupNorm (Wu & He, ECCV 2018:
# batch-size independent; their detectors train from scratch with it) in
# place of BatchNorm, 32 groups, in every norm layer: the ResNet-50 trunk and
# the neck (downscale and ResSkip blocks). BlitzNet's heads have no norm
# layers (one 3x3 conv per output, paper Sec. 3.2), so none is added there.
# BN vs GN on the same images, iterations and augmentation:
# docs/learning_check.md.
_base_ = './blitznet300_coco_mini.py'
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(backbone=dict(norm_cfg=norm_cfg), neck=dict(norm_cfg=norm_cfg))
