# BlitzNet300 s4 on a DetNet-59 trunk (Li et al., ECCV 2018; docs/detnet.md):
# ResNet-50 stages 1-4 (ImageNet weights), then stages 5 and 6 at stride 16
# (256 channels, dilated bottlenecks, fresh). The neck fuses all five trunk
# maps; the three stride-16 maps are three levels of the same size.
_base_ = './blitznet300_voc.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='DetNet',
        depth=50,
        extra_channels=256,
        out_indices=(0, 1, 2, 3, 4),
        frozen_stages=-1,
        norm_cfg={{_base_.norm_cfg}},
        norm_eval=False,
        style='caffe',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    # the downscale blocks keep the last trunk map's width: 256 = 4 x 64
    neck=dict(in_channels=(256, 512, 1024, 256, 256), extra_mid_channels=64),
    # levels 75 38 19 19 19 10 5 1: the paper's smallest scale, then SSD's
    # linear spacing from 0.10 to 0.95 over the other seven
    bbox_head=dict(
        anchor_generator=dict(scales=(.04, .10, .24, .38, .53, .67, .81,
                                      .95))))
