"""The BDD100K worked example (configs/blitznet300_bdd100k.py) on a small
BDD100K written in its official layout from the real images of
data/samples: the converter's COCO boxes, the drivable-area PNGs and the
multi-label lane masks checked pixel-exact against decodings written
here."""
import json
import os.path as osp
import sys

import numpy as np
import pytest

from blitznet_mm.datasets.bdd100k import convert_bdd100k
from blitznet_mm.testing.bdd100k_layout import write_bdd100k_layout
from blitznet_mm.testing.builders import REPO, build_model, load_cfg


@pytest.fixture(scope='module')
def bdd(coco_mini, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('bdd') / 'bdd100k')
    written = write_bdd100k_layout(coco_mini, root)
    stats = convert_bdd100k(root)
    return root, written, stats


def test_converter_writes_the_boxes_as_coco(bdd):
    root, written, stats = bdd
    for split, items in written.items():
        with open(
                osp.join(root, 'labels', 'det_20',
                         f'det_{split}_coco.json')) as f:
            coco = json.load(f)
        assert [c['name'] for c in coco['categories']] == [
            'pedestrian', 'rider', 'car', 'truck', 'bus', 'train',
            'motorcycle', 'bicycle', 'traffic light', 'traffic sign'
        ]
        names = {c['id']: c['name'] for c in coco['categories']}
        images = {i['id']: i for i in coco['images']}
        got = {}
        for a in coco['annotations']:
            x, y, w, h = a['bbox']
            got.setdefault(images[a['image_id']]['file_name'], []).append(
                (names[a['category_id']], x, y, x + w, y + h))
        for name, item in items.items():
            have, want = sorted(got.get(name, [])), sorted(item['boxes'])
            assert [b[0] for b in have] == [b[0] for b in want]
            assert np.allclose([b[1:] for b in have] or np.zeros((0, 4)),
                               [b[1:] for b in want] or np.zeros((0, 4)))
            h, w = item['drivable'].shape
            img = next(i for i in coco['images'] if i['file_name'] == name)
            assert (img['height'], img['width']) == (h, w)
        others = sum(
            len(v['frame']['labels']) - len(v['boxes'])
            for v in items.values())
        assert stats[split]['skipped'] == others
        assert stats[split]['lane masks'] == len(items)
    assert stats['train']['boxes'] > 0


def _dataset(root, split='val'):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    cfg = load_cfg('blitznet300_bdd100k.py')
    ds = cfg.val_dataloader.dataset if split == 'val' else \
        cfg.train_dataloader.dataset
    return DATASETS.build(dict(ds, data_root=root + '/'))


def test_drivable_and_lane_masks_load_pixel_exact(bdd):
    root, written, _ = bdd
    ds = _dataset(root)
    assert ds.metainfo['seg_classes'] == ('direct', 'alternative',
                                          'background')
    assert ds.metainfo['seg_tasks']['lane']['multi_label']
    lanes = 0
    for i in range(len(ds)):
        s = ds[i]['data_samples']
        item = written['val'][osp.basename(s.img_path)]
        assert np.array_equal(s.gt_sem_seg.sem_seg[0].numpy(),
                              item['drivable'])
        v = item['lane'].astype(np.int64)
        lane = v != 255  # BDD100K: 255 = no lane marking
        want = np.stack(
            [lane, lane & (v // 16 % 2 == 1),
             lane & (v // 32 % 2 == 1)]).astype(np.uint8)
        assert np.array_equal(s.gt_lane.sem_seg.numpy(), want)
        lanes += int(want[0].sum())
    assert lanes > 0


@pytest.mark.slow
def test_the_config_has_a_head_per_task_and_scores_each(bdd):
    """Heads and outputs of the config; its evaluators report the boxes'
    AP, the drivable area's mIoU and the lane task's (what tools/test.py
    prints)."""
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.evaluator import Evaluator
    root = bdd[0]
    cfg = load_cfg('blitznet300_bdd100k.py')
    torch.manual_seed(0)
    model = build_model('blitznet300_bdd100k.py').eval()
    assert cfg.model.num_classes == 10
    assert model.bbox_head.cls_out_channels == 11
    assert model.seg_head.cls_seg.out_channels == 3 == model.num_seg_outputs
    assert model.task_heads.lane.cls_seg.out_channels == 3
    assert type(model.task_heads.lane).__name__ == 'BlitzNetMultiLabelSegHead'
    ds = _dataset(root)
    evaluator = Evaluator([
        dict(m, ann_file=osp.join(root, 'labels/det_20/det_val_coco.json'))
        if 'ann_file' in m else m for m in cfg.val_evaluator
    ])
    evaluator.dataset_meta = ds.metainfo
    with torch.no_grad():
        for i in range(len(ds)):
            batch = pseudo_collate([ds[i]])
            evaluator.process(model.test_step(batch), batch)
    res = evaluator.evaluate(len(ds))
    for key in ('coco/bbox_mAP', 'sem_seg/mIoU', 'sem_seg/IoU.direct',
                'lane/mIoU', 'lane/IoU.lane marking', 'lane/IoU.dashed'):
        assert key in res, (key, sorted(res))


def test_importing_the_package_registers_the_multi_task_modules():
    """What ``custom_imports=['blitznet_mm']`` gives tools/train.py and
    tools/test.py, in a fresh interpreter."""
    import subprocess
    code = ('import blitznet_mm\n'
            'from mmdet.registry import DATASETS, MODELS, TRANSFORMS\n'
            "for r, n in ((DATASETS, 'BlitzNetBDD100KDataset'),\n"
            "             (DATASETS, 'BlitzNetMultiTaskCocoDataset'),\n"
            "             (MODELS, 'BlitzNetMultiLabelSegHead'),\n"
            "             (TRANSFORMS, 'LoadTaskMasks'),\n"
            "             (TRANSFORMS, 'PackBlitzNetInputs')):\n"
            '    assert r.get(n) is not None, n\n')
    res = subprocess.run([sys.executable, '-c', code],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
