# BlitzNet300 s4 on COCO (80 classes). Paper Table 5 (minival): 34.1 mAP,
# 53.5 mIoU joint; Table 6 test-dev AP 29.8.
_base_ = [
    './_base_/models/blitznet300.py', './_base_/datasets/coco.py',
    './_base_/schedules/adam_700k.py', './_base_/default_runtime.py'
]
model = dict(num_classes=80)
