# BlitzNet512 s8 on COCO (80 classes). Paper Table 6 test-dev AP 34.2.
_base_ = [
    './_base_/models/blitznet512.py', './_base_/datasets/coco_512.py',
    './_base_/schedules/adam_700k.py', './_base_/default_runtime.py'
]
model = dict(num_classes=80)
train_dataloader = dict(batch_size=16)
auto_scale_lr = dict(base_batch_size=16)
