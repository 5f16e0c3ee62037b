# Scores BlitzNet300 s4 (trained with blitznet300_voc.py) on VOC12 val-seg:
# mIoU over 21 classes at the original resolution, 255 ignored (spec Sec. 8).
#   python tools/test.py configs/blitznet300_voc12_val_seg.py CHECKPOINT
_base_ = './blitznet300_voc.py'
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='BlitzNetVOCDataset',
        data_root='data/VOCdevkit/',
        ann_file='VOC2012/ImageSets/Segmentation/val.txt',
        data_prefix=dict(sub_data_root='VOC2012/',
                         seg='VOC2012/SegmentationClass/'),
        seg_required=True,
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_evaluator = dict(type='BlitzNetSegMetric', iou_metrics=['mIoU'])
