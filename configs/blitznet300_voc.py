# BlitzNet300 s4 on VOC07+12 (+SBD masks). Paper Table 1: 79.1 VOC07 mAP
# with segmentation, 78.5 without.
_base_ = [
    './_base_/models/blitznet300.py', './_base_/datasets/voc0712.py',
    './_base_/schedules/adam_65k.py', './_base_/default_runtime.py'
]
