"""VOC07 11-point mAP and VOC12 area mAP (with difficult objects) and mIoU
through the shipped VOC configs' evaluators and datasets, on two real images
with hand-written annotations and predictions whose scores are worked out
by hand (paper Sec. 4; Everingham et al., the VOC devkit).

Objects (VOC pixel boxes, 1-based as the XML holds them):
  image a: dog A [11, 11, 60, 60], dog D [101, 101, 150, 150] difficult,
           cat [201, 21, 260, 80]
  image b: dog B [31, 31, 90, 90]
Predictions, on the dataset's own boxes (IoU 1) or disjoint from all:
  dog  0.9 on A (TP), 0.8 on D (difficult: neither TP nor FP), 0.7 on
       nothing in b (FP), 0.6 on B (TP);
  cat  0.95 on nothing in b (FP), 0.5 on the cat (TP), 0.4 on the cat
       again (FP: already found).

dog, the difficult one left out: precision / recall after each counted
detection 1/.5, .5/.5, 2/3/1.
  11 points: max precision at recall >= r is 1 for r = 0 .. 0.5 (6 points)
  and 2/3 for r = 0.6 .. 1 (5 points): AP = (6 + 5 * 2/3) / 11 = 28/33.
  area: 0.5 * 1 + 0.5 * 2/3 = 5/6.
cat: precision / recall 0/0, .5/1, 1/3/1: AP 0.5 both ways.
mAP (classes with ground truth only): 11 points (28/33 + 1/2) / 2 =
0.67424; area (5/6 + 1/2) / 2 = 2/3.
Had the difficult dog counted as a ground truth, 11-point dog AP would be
10/11; had the detection on it counted as a false positive, 17/22.
"""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData, PixelData

from blitznet_mm.testing.builders import config_path

DOG, CAT = 11, 7  # VOC class indices; label maps use index + 1
OBJECTS = {
    'a': [('dog', (11, 11, 60, 60), 0), ('dog', (101, 101, 150, 150), 1),
          ('cat', (201, 21, 260, 80), 0)],
    'b': [('dog', (31, 31, 90, 90), 0)]
}


def _xml(img_id, w, h, objects):
    objs = ''.join(
        f'<object><name>{n}</name><difficult>{d}</difficult><bndbox>'
        f'<xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>'
        f'<ymax>{b[3]}</ymax></bndbox></object>' for n, b, d in objects)
    return (f'<annotation><filename>{img_id}.jpg</filename><size><width>{w}'
            f'</width><height>{h}</height><depth>3</depth></size>{objs}'
            '</annotation>')


def _label_map(h, w, img_id, pred=False):
    """Ground truth: background 0, each object's box filled with its label
    (1-based VOC pixels (x1, y1, x2, y2) = columns x1-1 .. x2-1), rows 0-4
    void (255). The prediction of image a also paints dog on the 25
    columns right of dog A (a 50 x 25 false positive), predicts 0 on the
    void band."""
    m = np.zeros((h, w), np.uint8)
    for name, (x1, y1, x2, y2), _ in OBJECTS[img_id]:
        m[y1 - 1:y2, x1 - 1:x2] = (DOG if name == 'dog' else CAT) + 1
    if pred:
        if img_id == 'a':
            m[10:60, 60:85] = DOG + 1
    else:
        m[:5] = 255
    return m


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory, coco_mini):
    from PIL import Image

    from blitznet_mm.datasets.voc import save_palette_png
    root = tmp_path_factory.mktemp('vocdevkit')
    folder = osp.join(coco_mini, 'train2017')
    files = sorted(os.listdir(folder))[:2]
    for year, split in (('2007', 'Main/test.txt'), ('2012',
                                                    'Segmentation/val.txt')):
        voc = root / f'VOC{year}'
        for d in ('JPEGImages', 'Annotations', 'SegmentationClass',
                  'ImageSets/Main', 'ImageSets/Segmentation'):
            (voc / d).mkdir(parents=True)
        for img_id, f in zip(OBJECTS, files):
            src = osp.join(folder, f)
            w, h = Image.open(src).size
            os.symlink(src, voc / 'JPEGImages' / f'{img_id}.jpg')
            (voc / 'Annotations' / f'{img_id}.xml').write_text(
                _xml(img_id, w, h, OBJECTS[img_id]))
            save_palette_png(
                _label_map(h, w, img_id),
                str(voc / 'SegmentationClass' / f'{img_id}.png'))
        (voc / 'ImageSets' / split).write_text('a\nb\n')
    return str(root)


def _samples_and_evaluator(voc_root, config):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import blitznet_mm  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(config_path(config))
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = voc_root + '/'
    ds = DATASETS.build(ds_cfg)
    ev = Evaluator(cfg.test_evaluator)
    ev.dataset_meta = ds.metainfo
    return [ds[i]['data_samples'] for i in range(len(ds))], ev


def _predict(samples):
    """The hand-written detections (module docstring) and label maps, on
    the dataset's own boxes."""
    by_id = {osp.splitext(osp.basename(s.img_path))[0]: s for s in samples}
    a, b = by_id['a'], by_id['b']
    assert len(a.gt_instances) == 2 and len(a.ignored_instances) == 1
    dog_a = a.gt_instances.bboxes.tensor[a.gt_instances.labels == DOG][0]
    cat = a.gt_instances.bboxes.tensor[a.gt_instances.labels == CAT][0]
    difficult = a.ignored_instances.bboxes.tensor[0]
    dog_b = b.gt_instances.bboxes.tensor[0]
    nowhere = torch.tensor([300., 300., 340., 340.])
    dets = {
        'a': [(dog_a, DOG, .9), (difficult, DOG, .8), (cat, CAT, .5),
              (cat, CAT, .4)],
        'b': [(nowhere, DOG, .7), (dog_b, DOG, .6), (nowhere, CAT, .95)]
    }
    for img_id, s in by_id.items():
        p = InstanceData()
        p.bboxes = torch.stack([torch.as_tensor(d[0])
                                for d in dets[img_id]]).float()
        p.labels = torch.tensor([d[1] for d in dets[img_id]])
        p.scores = torch.tensor([d[2] for d in dets[img_id]])
        s.pred_instances = p
        h, w = s.ori_shape
        s.pred_sem_seg = PixelData(
            sem_seg=torch.from_numpy(_label_map(h, w, img_id,
                                                pred=True)).long()[None])
    return samples


def _exact_map(ev, eval_mode):
    """mAP and per-class AP from the same processed results (VOCMetric
    logs the per-class APs only)."""
    from mmdet.evaluation.functional import eval_map
    metric = ev.metrics[0]
    gts, preds = zip(*metric.results)
    mean_ap, per_class = eval_map(
        list(preds),
        list(gts),
        iou_thr=0.5,
        dataset='voc',
        eval_mode=eval_mode,
        use_legacy_coordinate=True,
        logger='silent')
    return mean_ap, {
        i: r['ap']
        for i, r in enumerate(per_class) if r['num_gts'] > 0
    }


def test_voc07_config_scores_11_point_map_by_hand(voc_root):
    samples, ev = _samples_and_evaluator(voc_root, 'blitznet300_voc.py')
    assert ev.metrics[0].eval_mode == '11points'
    ev.process(_predict(samples))
    mean_ap, per_class = _exact_map(ev, '11points')
    assert per_class == {
        DOG: pytest.approx(28 / 33, abs=1e-6),
        CAT: pytest.approx(0.5, abs=1e-6)
    }
    assert mean_ap == pytest.approx((28 / 33 + 0.5) / 2, abs=1e-6)
    res = ev.evaluate(len(samples))
    assert res['pascal_voc/mAP'] == pytest.approx(
        (28 / 33 + 0.5) / 2, abs=1e-6)


def test_voc12_config_scores_area_map_and_miou_by_hand(voc_root):
    """Detections as above; mIoU from the label maps of ``_label_map``:
    dog: ground truth 50 x 50 (A) + 50 x 50 (D, a difficult box is still
    dog in the mask) + 60 x 60 (B) = 8600 px, predicted 1250 more in a:
    IoU 8600 / 9850. cat: 60 x 60 right: 1. background: the
    non-void pixels of both images minus the objects, N, of which 1250
    predicted dog: (N - 1250) / N. Void rows never count; the other 18
    classes are absent from both maps (not scored)."""
    samples, ev = _samples_and_evaluator(voc_root, 'blitznet300_voc12.py')
    assert ev.metrics[0].eval_mode == 'area'
    ev.process(_predict(samples))
    mean_ap, per_class = _exact_map(ev, 'area')
    assert per_class == {
        DOG: pytest.approx(5 / 6, abs=1e-6),
        CAT: pytest.approx(0.5, abs=1e-6)
    }
    assert mean_ap == pytest.approx(2 / 3, abs=1e-6)
    pixels = sum((s.ori_shape[0] - 5) * s.ori_shape[1] for s in samples)
    n_bg = pixels - 2500 - 2500 - 3600 - 3600
    miou = (8600 / 9850 + 1 + (n_bg - 1250) / n_bg) / 3
    res = ev.evaluate(len(samples))
    assert res['pascal_voc/mAP'] == pytest.approx(2 / 3, abs=1e-6)
    assert res['sem_seg/mIoU'] == round(100 * miou, 2)
