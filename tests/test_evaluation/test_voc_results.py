"""VOC results the VOC devkit reads (BlitzNetVOCMetric,
BlitzNetVOCSegMetric), through the shipped VOC configs' datasets and
evaluators on the real images of a built VOCdevkit (5 test images, 13
objects of 5 classes; one horse and one person are made difficult).

The written files are read back here as the devkit reads them
(``VOCevaldet.m``: ``textread('%s %f %f %f %f %f')``, the XML boxes as
written, IoU with ``w = x2 - x1 + 1``, difficult objects neither true nor
false positives, 11 recall levels 0, 0.1, .., 1) by a reader written in this
test, and its mAP is compared with mmdet's VOCMetric on the same
predictions. The per-class numbers of positives (1, 2, 3, 4) give recalls
that never fall exactly on an interior recall level, where float32 and
float64 arithmetic would round differently.
"""
import os.path as osp
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData, PixelData
from PIL import Image

from blitznet_mm.datasets.voc import voc_palette
from blitznet_mm.evaluation import BlitzNetVOCMetric, BlitzNetVOCSegMetric
from blitznet_mm.testing.builders import config_path
from blitznet_mm.testing.voc_layout import VOC_CLASSES, build_vocdevkit

DIFFICULT = {'2017_078499': 1, '2017_100667': 0}  # image -> object index


@pytest.fixture(scope='module')
def devkit(tmp_path_factory, coco_mini):
    root = str(tmp_path_factory.mktemp('vocdevkit'))
    ids = build_vocdevkit(coco_mini, root)
    for year in ('2007', '2012'):
        for img_id, k in DIFFICULT.items():
            path = osp.join(root, f'VOC{year}', 'Annotations', img_id + '.xml')
            tree = ET.parse(path)
            tree.getroot().findall('object')[k].find('difficult').text = '1'
            tree.write(path)
    return root, ids


def _samples_and_cfg(root, config):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import blitznet_mm  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(config_path(config))
    cfg.test_dataloader.dataset.data_root = root + '/'
    ds = DATASETS.build(cfg.test_dataloader.dataset)
    return [ds[i]['data_samples'] for i in range(len(ds))], ds.metainfo, cfg


def _predict(samples, seed=0):
    """Per object (difficult ones too) a box jittered by ~1.5 px; every
    second object also a box shifted by half its width (IoU 1/3: a false
    positive), every third a second jittered box (a duplicate); the fifth
    object of the second image is missed; the first of the third image
    has only a box shifted right by s = W / 3 + 1 / 6 (W = x2 - x1): IoU
    (4W + 5) / (8W + 7) >= 0.5 with the devkit's + 1 in widths, (4W - 1) /
    (8W + 1) < 0.5 without; two boxes of random classes per image.
    Fractional pixels, distinct float32 scores."""
    rng = np.random.default_rng(seed)
    for n, s in enumerate(samples):
        gt = torch.cat(
            [s.gt_instances.bboxes.tensor,
             s.ignored_instances.bboxes.tensor]).numpy()
        labels = np.concatenate([
            s.gt_instances.labels.numpy(),
            s.ignored_instances.labels.numpy()
        ])
        boxes, classes = [], []
        for k, (box, c) in enumerate(zip(gt, labels)):
            if n == 1 and k == 4:
                continue
            if n == 2 and k == 0:
                shift = (box[2] - box[0]) / 3 + 1 / 6
                boxes.append(box + [shift, 0, shift, 0])
                classes.append(c)
                continue
            boxes.append(box + rng.normal(0, 1.5, 4))
            classes.append(c)
            if k % 2 == 0:
                boxes.append(box + [(box[2] - box[0]) / 2, 0] * 2)
                classes.append(c)
            if k % 3 == 0:
                boxes.append(box + rng.normal(0, 1.5, 4))
                classes.append(c)
        for _ in range(2):
            x, y = rng.uniform(0, 200, 2)
            boxes.append([x, y, x + rng.uniform(20, 90), y + 40.5])
            classes.append(rng.integers(0, 20))
        p = InstanceData()
        p.bboxes = torch.tensor(np.array(boxes), dtype=torch.float32)
        p.labels = torch.tensor(classes, dtype=torch.long)
        p.scores = torch.from_numpy(
            rng.permutation(1000)[:len(boxes)].astype(np.float32) / 1000 +
            np.float32(1e-4))
        s.pred_instances = p
    return samples


def _read_det_file(path):
    """(image id, confidence, [left, top, right, bottom]) per line."""
    with open(path) as f:
        rows = [line.split() for line in f]
    assert all(len(r) == 6 for r in rows), path
    return [(r[0], float(r[1]), [float(v) for v in r[2:]]) for r in rows]


def _read_xml(path):
    """(class, difficult, box) per object, the box as written (1-based)."""
    objects = []
    for o in ET.parse(path).getroot().findall('object'):
        b = o.find('bndbox')
        box = [float(b.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
        objects.append(
            (o.find('name').text, int(o.find('difficult').text), box))
    return objects


def _devkit_ap(dets, records, cls):
    """VOCevaldet's 11-point AP of one class; returns (AP, npos) and the
    closest IoU to 0.5 (float32 and float64 IoUs may part only there)."""
    gt = {
        i: [(box, diff) for name, diff, box in objs if name == cls]
        for i, objs in records.items()
    }
    found = {i: [False] * len(g) for i, g in gt.items()}
    npos = sum(not diff for g in gt.values() for _, diff in g)
    order = np.argsort([-d[1] for d in dets], kind='stable')
    tp, fp, closest = np.zeros(len(dets)), np.zeros(len(dets)), 1.0
    for rank, d in enumerate(order):
        img, _, bb = dets[d]
        ovmax, jmax = -np.inf, -1
        for j, (g, _) in enumerate(gt[img]):  # KeyError: unknown image
            iw = min(bb[2], g[2]) - max(bb[0], g[0]) + 1
            ih = min(bb[3], g[3]) - max(bb[1], g[1]) + 1
            if iw > 0 and ih > 0:
                ua = ((bb[2] - bb[0] + 1) * (bb[3] - bb[1] + 1) +
                      (g[2] - g[0] + 1) * (g[3] - g[1] + 1) - iw * ih)
                if iw * ih / ua > ovmax:
                    ovmax, jmax = iw * ih / ua, j
        closest = min(closest, abs(ovmax - 0.5))
        if ovmax >= 0.5:
            if not gt[img][jmax][1]:
                if not found[img][jmax]:
                    tp[rank], found[img][jmax] = 1, True
                else:
                    fp[rank] = 1
        else:
            fp[rank] = 1
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    rec = tp / max(npos, 1)
    prec = tp / np.maximum(tp + fp, np.finfo(float).eps)
    ap = sum(
        max(prec[rec >= t], default=0.0) for t in [k / 10 for k in range(11)])
    return ap / 11, npos, closest


def _expected_lines(samples, c):
    out = []
    for s in samples:
        p = s.pred_instances
        keep = p.labels == c
        img = osp.splitext(osp.basename(s.img_path))[0]
        for box, score in zip(p.bboxes[keep].numpy(), p.scores[keep].numpy()):
            out.append((img, score, [float(v) + 1 for v in box]))
    return out


def test_voc07_comp4_files_read_back_and_score_as_voc_metric(devkit, tmp_path):
    root, ids = devkit
    samples, meta, cfg = _samples_and_cfg(root, 'blitznet300_voc.py')
    samples = _predict(samples)
    results = tmp_path / 'results'
    # what docs/tools.md passes as --cfg-options
    ours = dict(
        cfg.test_evaluator, type='BlitzNetVOCMetric', results_dir=str(results))
    scores = {}
    for name, ev_cfg in (('ours', ours), ('mmdet', cfg.test_evaluator)):
        ev = Evaluator(ev_cfg)
        ev.dataset_meta = meta
        ev.process(samples)
        scores[name] = ev.evaluate(len(samples))['pascal_voc/mAP']
    assert scores['ours'] == scores['mmdet']

    main = results / 'VOC2007' / 'Main'
    written = sorted(p.name for p in main.iterdir())
    assert written == sorted(f'comp4_det_test_{c}.txt' for c in VOC_CLASSES)
    for c, cls in enumerate(VOC_CLASSES):
        got = _read_det_file(main / f'comp4_det_test_{cls}.txt')
        expected = _expected_lines(samples, c)
        assert len(got) == len(expected), cls
        # each image's lines by decreasing confidence
        for img in {g[0] for g in got}:
            conf = [g[1] for g in got if g[0] == img]
            assert conf == sorted(conf, reverse=True)
        # the scores as float32, the boxes + 1 (the XML's 1-based pixels)
        # exactly
        key = lambda r: (r[0], -r[1])  # noqa: E731
        for g, e in zip(sorted(got, key=key), sorted(expected, key=key)):
            assert g[0] == e[0] and np.float32(g[1]) == e[1], cls
            assert g[2] == e[2], cls

    test_ids = ids['2007']['Main/test.txt']
    records = {
        i: _read_xml(osp.join(root, 'VOC2007', 'Annotations', i + '.xml'))
        for i in test_ids
    }
    assert sum(d for objs in records.values() for _, d, _ in objs) == 2
    aps = []
    for cls in VOC_CLASSES:
        dets = _read_det_file(main / f'comp4_det_test_{cls}.txt')
        ap, npos, closest = _devkit_ap(dets, records, cls)
        assert closest > 1e-4, f'{cls}: an IoU at 0.5 (change the seed)'
        if npos:
            aps.append(ap)
    assert len(aps) == 5 and 0.2 < np.mean(aps) < 0.9  # not trivial
    assert scores['mmdet'] == pytest.approx(np.mean(aps), abs=1e-6)


def _strip_ground_truth(samples):
    for s in samples:
        for key in ('gt_instances', 'ignored_instances', 'gt_sem_seg'):
            delattr(s, key)
    return samples


def _seg_predictions(samples, seed=1):
    """Each mask with its void (255) made background and a 40 x 60 block
    of random labels 0..20 at the top left."""
    rng = np.random.default_rng(seed)
    maps = {}
    for s in samples:
        m = s.gt_sem_seg.sem_seg[0].numpy().copy()
        m[m == 255] = 0
        m[:40, :60] = rng.integers(0, 21, (40, 60))
        s.pred_sem_seg = PixelData(sem_seg=torch.from_numpy(m).long()[None])
        maps[osp.splitext(osp.basename(s.img_path))[0]] = m
    return maps


def _devkit_cfg(cfg, results, format_only):
    det, seg = (dict(c) for c in cfg.test_evaluator)
    det.update(type='BlitzNetVOCMetric', testset='val')
    seg.update(type='BlitzNetVOCSegMetric', testset='val')
    for c in (det, seg):
        c.update(results_dir=str(results), format_only=format_only)
    return [det, seg]


def test_voc12_comp6_pngs_and_format_only(devkit, tmp_path):
    """While scoring (the metrics unchanged) and with format_only on the
    same predictions without any ground truth: the same files."""
    import copy
    root, ids = devkit
    samples, meta, cfg = _samples_and_cfg(root, 'blitznet300_voc12.py')
    samples = _predict(samples)
    maps = _seg_predictions(samples)
    metrics = {}
    for name, ev_cfg in (('plain', cfg.test_evaluator),
                         ('scored', _devkit_cfg(cfg, tmp_path / 'a', False))):
        ev = Evaluator(ev_cfg)
        ev.dataset_meta = meta
        ev.process(samples)
        metrics[name] = ev.evaluate(len(samples))
    assert metrics['scored'] == metrics['plain']
    assert 0 < metrics['plain']['sem_seg/mIoU'] < 100

    ev = Evaluator(_devkit_cfg(cfg, tmp_path / 'b', True))
    ev.dataset_meta = meta
    ev.process(_strip_ground_truth(copy.deepcopy(samples)))
    assert ev.evaluate(len(samples)) == {}

    val = ids['2012']['Segmentation/val.txt']
    for run in ('a', 'b'):
        voc = tmp_path / run / 'VOC2012'
        folder = voc / 'Segmentation' / 'comp6_val_cls'
        written = sorted(p.name for p in folder.iterdir())
        assert written == sorted(i + '.png' for i in val)
        for img_id in val:
            png = Image.open(folder / f'{img_id}.png')
            assert png.mode == 'P'
            assert png.getpalette()[:3 * 21] == voc_palette()[:3 * 21]
            np.testing.assert_array_equal(np.array(png), maps[img_id])
        for c, cls in enumerate(VOC_CLASSES):
            got = _read_det_file(voc / 'Main' / f'comp4_det_val_{cls}.txt')
            assert len(got) == len(_expected_lines(samples, c))
    for p in (tmp_path / 'a').rglob('*.*'):
        assert p.read_bytes() == (tmp_path / 'b' /
                                  p.relative_to(tmp_path / 'a')).read_bytes()


def test_bad_settings_and_label_maps_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match='results_dir'):
        BlitzNetVOCMetric(format_only=True)
    with pytest.raises(ValueError, match='results_dir'):
        BlitzNetVOCSegMetric(format_only=True)
    with pytest.raises(ValueError, match='output_dir'):
        BlitzNetVOCSegMetric(output_dir=str(tmp_path))

    det = BlitzNetVOCMetric(
        results_dir=str(tmp_path), format_only=True, year=2012)
    det.dataset_meta = dict(classes=VOC_CLASSES, dataset_type='VOC2007')
    with pytest.raises(ValueError, match='year=2012.*VOC2007'):
        det.write_results([])
    det.dataset_meta = dict(classes=('cat', 'lion'))
    with pytest.raises(ValueError, match="'lion'"):
        det.write_results([])

    seg = BlitzNetVOCSegMetric(results_dir=str(tmp_path), format_only=True)
    seg.dataset_meta = dict(classes=VOC_CLASSES, dataset_type='VOC2012')
    bad = np.zeros((4, 5), np.int64)
    bad[0, 0] = 255
    sample = dict(
        img_path='/x/2012_000001.jpg',
        ori_shape=(4, 5),
        pred_sem_seg=dict(sem_seg=torch.from_numpy(bad)[None]))
    with pytest.raises(ValueError, match='2012_000001.*outside 0..20'):
        seg.process({}, [sample])
    sample['ori_shape'] = (8, 10)
    with pytest.raises(ValueError, match='2012_000001.*image size'):
        seg.process({}, [sample])
    seg.dataset_meta = dict(classes=('cat', 'dog'), dataset_type='VOC2012')
    with pytest.raises(ValueError, match="21 labels"):
        seg.process({}, [sample])
