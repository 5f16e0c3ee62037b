# BlitzNet512 s8 on VOC07+12 (+SBD masks). Paper Table 1: 81.5 VOC07 mAP
# with segmentation, 80.7 without.
_base_ = [
    './_base_/models/blitznet512.py', './_base_/datasets/voc0712_512.py',
    './_base_/schedules/adam_75k.py', './_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=16)
