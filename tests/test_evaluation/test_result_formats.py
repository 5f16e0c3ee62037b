"""Result formats for test servers (test_evaluator with format_only=True):
the COCO test-dev bbox json of mmdet's CocoMetric (outfile_prefix) and the
label maps of BlitzNetSegMetric as lossless PNGs (output_dir). The
expected values are written out by hand from the predictions given."""
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from pycocotools.coco import COCO

from blitznet_mm.evaluation import BlitzNetSegMetric


def _coco_classes():
    from mmdet.datasets import CocoDataset
    return CocoDataset.METAINFO['classes']


@pytest.fixture
def test_dev_ann(coco_mini, tmp_path):
    """An image-info file as COCO test-dev's (images and categories, no
    annotations), made from the embedded samples' annotation file."""
    with open(osp.join(coco_mini, 'annotations',
                       'instances_train2017.json')) as f:
        full = json.load(f)
    info = dict(images=full['images'][:2], categories=full['categories'])
    path = tmp_path / 'image_info_test-dev2017.json'
    path.write_text(json.dumps(info))
    return str(path), info


def test_coco_format_only_writes_a_bbox_json_loadres_reads(
        test_dev_ann, tmp_path):
    from mmdet.evaluation import CocoMetric
    ann, info = test_dev_ann
    (img_a, img_b) = [im['id'] for im in info['images']]
    metric = CocoMetric(
        ann_file=ann,
        metric='bbox',
        format_only=True,
        outfile_prefix=str(tmp_path / 'blitznet_test-dev'))
    metric.dataset_meta = dict(classes=_coco_classes())
    # detection labels are mmdet's 0..79: 0 = person, 2 = car, 79 =
    # toothbrush; COCO category ids 1, 3 and 90
    preds = [
        dict(
            img_id=img_a,
            ori_shape=(100, 100),
            pred_instances=dict(
                bboxes=torch.tensor([[10., 20., 50., 80.], [0., 0., 5., 5.]]),
                scores=torch.tensor([0.9, 0.25]),
                labels=torch.tensor([0, 2]))),
        dict(
            img_id=img_b,
            ori_shape=(100, 100),
            pred_instances=dict(
                bboxes=torch.tensor([[1.5, 2.5, 3.5, 9.5]]),
                scores=torch.tensor([0.5]),
                labels=torch.tensor([79])))
    ]
    metric.process({}, preds)
    assert metric.evaluate(size=2) == {}  # format only: no metrics
    out = tmp_path / 'blitznet_test-dev.bbox.json'
    assert out.is_file()

    gt = COCO(ann)
    res = gt.loadRes(str(out))
    anns = sorted(
        res.loadAnns(res.getAnnIds()),
        key=lambda a: (a['image_id'] != img_a, -a['score']))
    got = [(a['image_id'], a['category_id'], a['bbox'], a['score'])
           for a in anns]
    # xyxy -> xywh: (10, 20, 50, 80) -> (10, 20, 40, 60)
    expected = [(img_a, 1, [10., 20., 40., 60.], 0.9),
                (img_a, 3, [0., 0., 5., 5.], 0.25),
                (img_b, 90, [1.5, 2.5, 2., 7.], 0.5)]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g[:2] == e[:2]
        np.testing.assert_allclose(g[2], e[2], atol=1e-4)
        assert g[3] == pytest.approx(e[3], abs=1e-6)
    assert gt.loadCats(90)[0]['name'] == 'toothbrush'


def _seg_sample(labels, name, gt=None):
    s = dict(
        pred_sem_seg=dict(sem_seg=torch.as_tensor(labels)[None]),
        img_path=f'/data/test2017/{name}.jpg')
    if gt is not None:
        s['gt_sem_seg'] = dict(sem_seg=torch.as_tensor(gt)[None])
    return s


def test_seg_format_only_writes_the_label_maps_as_lossless_pngs(tmp_path):
    metric = BlitzNetSegMetric(format_only=True, output_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=_coco_classes())  # 81 labels
    # background, person (1), car (3), toothbrush (80): the set's values
    a = np.array([[0, 1, 1], [3, 80, 0]], dtype=np.int64)
    b = np.full((4, 5), 80, dtype=np.int64)
    b[1:3, 1:4] = 17
    # no ground truth: a test server's images
    metric.process(
        {}, [_seg_sample(a, '000000000001'),
             _seg_sample(b, '000000000002')])
    assert metric.evaluate(size=2) == {}
    for name, labels in (('000000000001', a), ('000000000002', b)):
        png = mmcv.imread(str(tmp_path / f'{name}.png'), flag='unchanged')
        assert png.dtype == np.uint8 and png.ndim == 2
        np.testing.assert_array_equal(png, labels)


def test_sets_of_more_than_256_labels_are_written_as_16_bit(tmp_path):
    metric = BlitzNetSegMetric(format_only=True, output_dir=str(tmp_path))
    metric.dataset_meta = dict(
        classes=('thing', ),
        seg_background=False,
        seg_classes=tuple(f'c{i}' for i in range(300)))
    labels = np.array([[0, 255, 256, 299]], dtype=np.int64)
    metric.process({}, [_seg_sample(labels, 'x')])
    png = mmcv.imread(str(tmp_path / 'x.png'), flag='unchanged')
    assert png.dtype == np.uint16
    np.testing.assert_array_equal(png, labels)


def test_output_dir_while_scoring_writes_and_still_scores(tmp_path):
    metric = BlitzNetSegMetric(output_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=('cat', 'dog'))
    # 3 of 4 pixels right: bg 1/1, cat 1/2, dog 1/2 -> mIoU 66.67
    pred, gt = [[0, 1, 2, 2]], [[0, 1, 1, 2]]
    metric.process({}, [_seg_sample(pred, 'y', gt)])
    res = metric.evaluate(size=1)
    assert res['sem_seg/aAcc'] == 75.0
    assert res['sem_seg/mIoU'] == pytest.approx(66.67, abs=0.01)
    png = mmcv.imread(str(tmp_path / 'y.png'), flag='unchanged')
    np.testing.assert_array_equal(png, pred)


def test_format_only_without_output_dir_is_a_clear_error():
    with pytest.raises(ValueError, match='output_dir'):
        BlitzNetSegMetric(format_only=True)
