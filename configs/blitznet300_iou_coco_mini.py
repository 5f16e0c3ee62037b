# The learning check of IoU-Net's IoU branch and IoU-guided NMS
# (docs/iou_net.md): blitznet300_coco_mini.py (from scratch on data/samples)
# with the detection head and test_cfg of blitznet300_iou_voc.py.
_base_ = './blitznet300_coco_mini.py'
model = dict(
    bbox_head=dict(
        type='IoUNetDetHead',
        loss_iou=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(
        nms=dict(_delete_=True, type='iou_guided', iou_threshold=0.45)))
