# BlitzNet300 s4 on VOC07+12 (+SBD masks). Paper: 79.1 VOC07 mAP with seg.
_base_ = [
    './_base_/models/blitznet300.py', './_base_/datasets/voc0712.py',
    './_base_/schedules/adam_65k.py', './_base_/default_runtime.py'
]
