"""Blur synthesis (BDNet-style data, docs/blur.md) on real images, the set
maker tool, and the masks-only folder dataset with its errors."""
import json
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest

from blitznet_mm.datasets.blur_synthesis import (DEFOCUS, MOTION, blur,
                                                 compose, motion_kernel,
                                                 random_region, sample_regions)
from blitznet_mm.testing.builders import REPO
from blitznet_mm.testing.tool_runs import run_script

TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'make_blur_dataset.py')


@pytest.fixture(scope='module')
def image(coco_mini):
    root = osp.join(coco_mini, 'train2017')
    return mmcv.imread(osp.join(root, sorted(os.listdir(root))[0]))


def _sharpness(img, axis=None):
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64)
    if axis is None:
        return cv2.Laplacian(g, cv2.CV_64F).var()
    return (np.diff(g, axis=axis)**2).mean()


@pytest.mark.parametrize('length', [5, 9, 20])
def test_motion_kernel_is_a_normalised_centred_line(length):
    for angle, axis in ((0, 0), (90, 1)):
        k = motion_kernel(length, angle)
        assert k.shape[0] % 2 == 1 and k.sum() == pytest.approx(1, abs=1e-6)
        np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-6)  # centred
        c = k.shape[0] // 2
        line = k[c] if axis == 0 else k[:, c]  # angle 0: the middle row
        assert line.sum() == pytest.approx(1, abs=1e-6)
        assert (line > 0).sum() >= length - 1  # its length
    diag = motion_kernel(9, 45)
    assert np.trace(diag[::-1]) > 0.9  # 45 deg: the anti-diagonal (y up)
    with pytest.raises(ValueError, match='length 1'):
        motion_kernel(1, 0)


def test_blur_kinds_remove_the_expected_detail(image):
    sharp = _sharpness(image)
    assert _sharpness(blur(image, DEFOCUS, 3.)) < sharp / 8
    moved = blur(image, MOTION, 15, angle=0)  # horizontal streaks
    # along the motion detail goes; across it much of it stays
    loss_x = _sharpness(moved, 1) / _sharpness(image, 1)
    loss_y = _sharpness(moved, 0) / _sharpness(image, 0)
    assert loss_x < 0.2 and loss_y > 2 * loss_x
    with pytest.raises(ValueError, match='unknown blur kind'):
        blur(image, 0, 3.)


def test_compose_blurs_only_inside_and_later_regions_win(image):
    h, w = image.shape[:2]
    a = np.zeros((h, w), bool)
    a[:h // 2] = True
    b = np.zeros((h, w), bool)
    b[h // 4:3 * h // 4, :w // 2] = True
    out, label = compose(image, [(a, MOTION, 11, 30.), (b, DEFOCUS, 4., 0.)])
    outside = ~(a | b)
    np.testing.assert_array_equal(out[outside], image[outside])
    assert (label[outside] == 0).all()
    assert (label[b] == DEFOCUS).all() and (label[a & ~b] == MOTION).all()
    np.testing.assert_array_equal(
        out[b],
        blur(compose(image, [(a, MOTION, 11, 30.)])[0], DEFOCUS, 4.)[b])


def test_region_draws_over_many_samples():
    rng = np.random.default_rng(0)
    h, w = 240, 320
    obj = np.zeros((h, w), bool)
    obj[50:150, 100:200] = True
    dof, kinds, sizes = 0, [], []
    for _ in range(1000):
        regions = sample_regions((h, w), rng, [obj])
        if len(regions) == 1 and (regions[0][0] == ~obj).all():
            dof += 1
            continue
        for mask, kind, strength, angle in regions:
            kinds.append(kind)
            lo, hi = (2, 6) if kind == DEFOCUS else (9, 31)
            assert lo <= strength <= hi and 0 <= angle <= 180
    assert abs(dof / 1000 - 0.25) < 0.04  # shallow depth of field
    assert abs(np.mean(np.array(kinds) == MOTION) - 0.5) < 0.05
    assert 1.3 < len(kinds) / (1000 - dof) < 1.7  # one or two regions
    no_obj = [len(sample_regions((h, w), rng)) for _ in range(200)]
    assert set(no_obj) == {1, 2}
    for _ in range(200):
        sizes.append(random_region(h, w, rng).mean())
    assert 0.02 < np.min(sizes) and np.max(sizes) < 0.6
    assert 0.1 < np.mean(sizes) < 0.3


def test_tool_writes_a_held_out_deterministic_set(tmp_path, coco_mini):
    ann = osp.join(coco_mini, 'annotations', 'instances_train2017.json')
    outs = []
    for run in ('a', 'b'):
        out = tmp_path / run
        proc = run_script([
            TOOL,
            osp.join(coco_mini, 'train2017'),
            str(out), '--ann', ann, '--per-image', '1'
        ],
                          cwd=REPO)
        assert proc.returncode == 0, proc.stderr
        outs.append(out)
    meta = json.load(open(outs[0] / 'samples.json'))
    n = len(os.listdir(osp.join(coco_mini, 'train2017')))
    splits = {
        s: {r['source']
            for r in meta['samples'] if r['split'] == s}
        for s in ('train', 'val')
    }
    assert not splits['train'] & splits['val']
    assert len(splits['val']) == round(n * 0.25)
    for split in ('train', 'val'):
        pngs = sorted(os.listdir(outs[0] / 'ann_dir' / split))
        assert len(pngs) == len(splits[split])
        for name in pngs:
            a = (outs[0] / 'ann_dir' / split / name).read_bytes()
            assert a == (outs[1] / 'ann_dir' / split / name).read_bytes()
    from PIL import Image
    for rec in meta['samples']:
        m = np.array(
            Image.open(outs[0] / 'ann_dir' / rec['split'] /
                       (rec['sample'] + '.png')))
        assert set(np.unique(m)) <= {0, MOTION, DEFOCUS}
        kinds = {r['kind'] for r in rec['regions']}
        assert (m == MOTION).any() == ('motion' in kinds) or \
            len(rec['regions']) == 2  # a later region may cover all of one
        img = mmcv.imread(outs[0] / 'img_dir' / rec['split'] /
                          (rec['sample'] + '.jpg'))
        assert img.shape[:2] == m.shape


def _folder(tmp_path, mask):
    (tmp_path / 'img').mkdir(parents=True)
    (tmp_path / 'ann').mkdir()
    mmcv.imwrite(np.zeros((8, 8, 3), np.uint8), str(tmp_path / 'img/x.jpg'))
    if mask is not None:
        cv2.imwrite(str(tmp_path / 'ann/x.png'), mask)
    return dict(
        type='BlitzNetSegDataset',
        data_root=str(tmp_path),
        metainfo=dict(classes=('motion', 'defocus')),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(
                type='LoadBlitzNetAnnotations',
                with_bbox=False,
                with_label=False)
        ])


def _build(cfg):
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope

    import blitznet_mm  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def test_folder_dataset_reads_labels_and_names_bad_masks(tmp_path):
    good = np.array([[0, 1, 2, 255]] * 8, np.uint8)[:, np.r_[0:4, 0:4]]
    ds = _build(_folder(tmp_path / 'good', good))
    assert len(ds) == 1 and ds.metainfo['classes'] == ('motion', 'defocus')
    np.testing.assert_array_equal(ds[0]['gt_seg_map'], good)
    bad = good.copy()
    bad[0, 0] = 3  # a third class in a 2-class set
    with pytest.raises(ValueError, match=r'x\.png holds labels \[3\]'):
        _build(_folder(tmp_path / 'bad', bad))[0]
    rgb = np.stack([good] * 3, -1)
    with pytest.raises(ValueError, match=r'x\.png has 3 channels'):
        _build(_folder(tmp_path / 'rgb', rgb))[0]
    with pytest.raises(FileNotFoundError, match=r'img/x\.jpg'):
        _build(_folder(tmp_path / 'missing', None))
    cfg = _folder(tmp_path / 'nocls', good)
    cfg['metainfo'] = None
    with pytest.raises(ValueError, match='classes'):
        _build(cfg)
    empty = tmp_path / 'empty'
    cfg = _folder(empty, good)
    os.remove(empty / 'img' / 'x.jpg')
    with pytest.raises(ValueError, match=r'no \*\.jpg image'):
        _build(cfg)
