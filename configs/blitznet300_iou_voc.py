# BlitzNet300 s4 with IoU-Net's localisation confidence (Jiang et al.,
# ECCV 2018; docs/iou_net.md): one more 3x3 conv per level predicts each
# anchor's IoU with its object (binary cross-entropy on the positives' IoU of
# the decoded box with the matched ground truth), and the IoU-guided NMS
# (Algorithm 1: rank by predicted IoU, keep the cluster's best class score)
# replaces the standard NMS of paper Sec. 3.5 at test time.
_base_ = './blitznet300_voc.py'
model = dict(
    bbox_head=dict(
        type='IoUNetDetHead',
        loss_iou=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    # the standard NMS: nms=dict(type='nms', iou_threshold=0.45, ...)
    test_cfg=dict(
        nms=dict(_delete_=True, type='iou_guided', iou_threshold=0.45)))
