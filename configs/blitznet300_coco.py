# BlitzNet300 s4 on COCO (80 classes). Paper Table 5 (minival): 34.1 mAP,
# 53.5 mIoU joint; Table 6 test-dev AP 29.8.
_base_ = [
    './_base_/models/blitznet300.py', './_base_/datasets/coco.py',
    './_base_/schedules/adam_65k.py', './_base_/default_runtime.py'
]
model = dict(bbox_head=dict(num_classes=80), seg_head=dict(num_classes=80))
# COCO schedule (spec Sec. 7): 700k iterations, decays at 400k / 550k
max_iters = 700000
train_cfg = dict(max_iters=max_iters, val_interval=50000)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[400000, 550000], gamma=0.1)
]
