"""Detection metrics from the one evaluator: COCO bbox AP (mmdet's
CocoMetric) and VOC mAP (mmdet's VOCMetric, 11 points), on real images with
hand-checkable predictions."""
import os.path as osp

import pytest
import torch
from mmengine.evaluator import Evaluator

from blitznet_mm.datasets import coco_subset
from blitznet_mm.testing.builders import coco_mini_dataset

PIPE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadBlitzNetAnnotations'),
    dict(type='PackDetInputs')
]


def _perfect(sample, drop_last=False):
    gt = sample.gt_instances
    keep = ~sample.gt_instances.get('ignore_flags',
                                    torch.zeros(len(gt), dtype=bool))
    boxes, labels = gt.bboxes.tensor[keep], gt.labels[keep]
    if drop_last:
        boxes, labels = boxes[:-1], labels[:-1]
    return dict(
        img_id=sample.img_id,
        ori_shape=sample.ori_shape,
        pred_instances=dict(
            bboxes=boxes, labels=labels, scores=torch.ones(len(boxes))),
        gt_instances=dict(bboxes=gt.bboxes.tensor, labels=gt.labels),
        ignored_instances=dict(
            bboxes=torch.zeros(0, 4), labels=torch.zeros(0).long()),
        pred_sem_seg=dict(sem_seg=sample.gt_sem_seg.sem_seg),
        gt_sem_seg=dict(sem_seg=sample.gt_sem_seg.sem_seg))


def test_coco_ap_and_miou_of_perfect_predictions(coco_mini, tmp_path):
    ds = coco_mini_dataset(coco_mini, pipeline=PIPE, indices=6)
    ids = {ds.get_data_info(i)['img_id'] for i in range(len(ds))}
    coco_subset(
        osp.join(coco_mini, 'annotations', 'instances_train2017.json'),
        str(tmp_path / 's.json'),
        image_ids=ids)
    ev = Evaluator([
        dict(
            type='CocoMetric',
            metric='bbox',
            ann_file=str(tmp_path / 's.json')),
        dict(type='BlitzNetSegMetric')
    ])
    ev.dataset_meta = ds.metainfo
    samples = [ds[i]['data_samples'] for i in range(len(ds))]
    ev.process([_perfect(s) for s in samples])
    res = ev.evaluate(len(samples))
    assert res['coco/bbox_mAP'] == pytest.approx(1.0, abs=1e-3)
    assert res['sem_seg/mIoU'] == 100.0


def test_voc_11point_map_perfect_and_missing_one_box(coco_mini):
    from mmdet.evaluation import VOCMetric
    ds = coco_mini_dataset(coco_mini, pipeline=PIPE, indices=6)
    samples = [ds[i]['data_samples'] for i in range(len(ds))]
    for drop, expect in ((False, 1.0), (True, None)):
        m = VOCMetric(metric='mAP', eval_mode='11points', iou_thrs=0.5)
        m.dataset_meta = ds.metainfo
        m.process({}, [_perfect(s, drop_last=drop) for s in samples])
        res = m.compute_metrics(m.results)
        if expect is not None:
            assert res['mAP'] == pytest.approx(expect, abs=1e-3)
        else:
            assert 0.5 < res['mAP'] < 1.0
