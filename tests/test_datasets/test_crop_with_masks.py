"""Which mmdet transforms of the joint recipes keep ``gt_seg_map`` aligned
(checked on painted real images, as test_mix_with_masks.py), the crops
made to carry it, and each joint config's whole training pipeline on the
real images of data/samples (mask/box agreement)."""
import copy
import os.path as osp

import numpy as np
import pytest

from blitznet_mm.testing.builders import REPO, coco_mini_dataset
from blitznet_mm.testing.mask_alignment import LOAD, UNKNOWN, box_agreement
from blitznet_mm.testing.mask_alignment import build_transform as _build
from blitznet_mm.testing.mask_alignment import interior, painted, read_paint

MEAN = dict(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False)  # pads black


@pytest.fixture(scope='module')
def raw(coco_mini):
    ds = coco_mini_dataset(coco_mini, pipeline=LOAD)
    return [ds[i] for i in range(len(ds))]


def boxless(r: dict) -> dict:
    r = copy.deepcopy(r)
    keep = np.zeros(len(r['gt_bboxes']), bool)
    for k in ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags'):
        r[k] = r[k][keep]
    return r


def exact(out: dict) -> bool:
    """Mask and painted image agree pixel for pixel (255: padding or
    painted 'ignore')."""
    read, seg = read_paint(out['img'].astype(np.uint8)), out['gt_seg_map']
    return bool(((read == seg) | ((seg == 255) & (read == UNKNOWN))).all())


@pytest.mark.parametrize('cfg', [
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(
        type='RandomResize',
        scale=(1280, 1280),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomFlip', prob=1.0),
    dict(type='Pad', size=(800, 800), pad_val=dict(img=(0, 0, 0))),
    dict(type='RandomCrop', crop_size=(300, 300))
])
def test_mmdet_transforms_that_carry_masks(raw, cfg):
    t = _build(cfg)
    for i in range(4):
        np.random.seed(i)
        out = t(painted(raw[i]))
        if out is None:  # RandomCrop: a crop without boxes, retried
            continue
        seg = out['gt_seg_map']
        assert seg.shape == out['img'].shape[:2]
        read = read_paint(out['img'])
        same = (read == seg) | ((seg == 255) & (read == UNKNOWN))  # padding
        ok = interior(seg)  # resizes are bilinear for images
        assert same[ok].mean() > 0.9995


def test_yolox_hsv_leaves_the_geometry(raw):
    r = copy.deepcopy(raw[0])
    seg = r['gt_seg_map'].copy()
    out = _build(dict(type='YOLOXHSVRandomAug'))(r)
    assert out['img'].shape[:2] == seg.shape and \
        (out['gt_seg_map'] == seg).all()


def test_mmdet_transforms_that_drop_or_misalign_masks(raw):
    """Why the joint configs swap them: mmdet 3.3 as it is."""
    r = copy.deepcopy(raw[0])
    r['mix_results'] = [raw[1], raw[2], raw[3]]
    out = _build(dict(type='Mosaic', img_scale=(320, 320)))(r)
    assert out['gt_seg_map'].shape != out['img'].shape[:2]  # first image's
    r = copy.deepcopy(raw[0])
    r['mix_results'] = [copy.deepcopy(raw[5])]
    np.random.seed(0)
    out = _build(dict(type='MixUp', img_scale=(640, 640)))(r)
    assert (out['gt_seg_map'] == raw[0]['gt_seg_map']).all()  # unmixed
    crop = dict(
        type='RandomCenterCropPad',
        crop_size=(511, 511),
        test_pad_mode=None,
        **MEAN)
    r = dict(copy.deepcopy(raw[0]), img=raw[0]['img'].astype(np.float32))
    with pytest.raises(NotImplementedError, match='only supports bbox'):
        _build(crop)(r)
    # a masks-only image: cropped, its mask not
    r = dict(boxless(raw[0]), img=raw[0]['img'].astype(np.float32))
    out = _build(crop)(r)
    assert out['gt_seg_map'].shape != out['img'].shape[:2]
    # a masks-only image never survives RTMDet's RandomCrop
    np.random.seed(0)
    assert _build(dict(type='RandomCrop',
                       crop_size=(300, 300)))(boxless(raw[0])) is None


def test_random_crop_keeps_masks_only_images(raw):
    ours = _build(dict(type='RandomCropWithMasks', crop_size=(300, 300)))
    theirs = _build(dict(type='RandomCrop', crop_size=(300, 300)))
    for i in range(6):  # boxed images: mmdet's result, draw for draw
        np.random.seed(i)
        a = ours(copy.deepcopy(raw[i]))
        np.random.seed(i)
        b = theirs(copy.deepcopy(raw[i]))
        assert (a is None) == (b is None)
        if a is not None:
            assert (a['img'] == b['img']).all()
            assert (a['gt_seg_map'] == b['gt_seg_map']).all()
            assert (a['gt_bboxes'].numpy() == b['gt_bboxes'].numpy()).all()
    np.random.seed(0)
    out = ours(painted(boxless(raw[0])))
    assert out is not None and out['img'].shape[:2] == (300, 300)
    assert exact(out) and (out['gt_seg_map'] > 0).any()


@pytest.mark.parametrize('with_boxes', [True, False])
def test_center_crop_pad_moves_the_mask_with_the_image(raw, with_boxes):
    t = _build(
        dict(
            type='RandomCenterCropPadWithMasks',
            crop_size=(511, 511),
            ratios=(0.6, 0.8, 1.0, 1.3),
            test_pad_mode=None,
            **MEAN))
    for i in range(6):
        np.random.seed(i)
        r = painted(raw[i] if with_boxes else boxless(raw[i]))
        r['img'] = r['img'].astype(np.float32)
        out = t(r)
        seg = out['gt_seg_map']
        assert seg.shape == out['img'].shape[:2] and exact(out)
        if with_boxes:  # a box whose centre leaves the crop is dropped,
            # its visible pixels stay: only boxes -> pixels is checked
            _, covered = box_agreement(seg, out['gt_bboxes'].numpy(),
                                       out['gt_bboxes_labels'])
            assert len(out['gt_bboxes']) > 0 and covered > 0.95


def test_center_crop_pad_test_mode_places_the_mask_at_the_border(raw):
    t = _build(
        dict(
            type='RandomCenterCropPadWithMasks',
            crop_size=None,
            ratios=None,
            border=None,
            test_mode=True,
            test_pad_mode=['logical_or', 127],
            **MEAN))
    r = painted(raw[0])
    r['img'] = r['img'].astype(np.float32)
    h, w = r['gt_seg_map'].shape
    out = t(r)
    y0, y1, x0, x1 = out['border'].astype(int)
    assert (y1 - y0, x1 - x0) == (h, w) and exact(out)
    assert (out['gt_seg_map'][y0:y1, x0:x1] == raw[0]['gt_seg_map']).all()


JOINT = [
    'rtmdet_tiny_seg_coco.py', 'cornernet_blitznet300_coco.py',
    'retinanet_r50_fpn_seg_coco.py', 'fcos_r50_fpn_seg_coco.py'
]


@pytest.mark.parametrize('name', JOINT)
def test_joint_training_pipelines_keep_masks_and_boxes_aligned(
        coco_mini, name):
    """Each joint config's own training pipeline (up to PackDetInputs) on
    the real images: every kept box holds pixels of its class (or, where
    MixUp overlaid two objects, unknown ones), and - except after
    CornerNet's crop, which drops boxes whose centre leaves the crop but
    keeps their visible pixels - every object pixel lies in a box of its
    class."""
    from mmengine.config import Config

    import blitznet_mm  # noqa: F401
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'joint', name))
    pipeline = [t for t in cfg.train_pipeline if t['type'] != 'PackDetInputs']
    ds = coco_mini_dataset(coco_mini, pipeline=pipeline)
    np.random.seed(0)
    inside_all, covered_all, boxes = [], [], 0
    for i in list(range(len(ds))) * 2:  # twice: RTMDet's caches fill
        r = ds[i]
        seg = r['gt_seg_map']
        assert seg.shape == r['img'].shape[:2]
        inside, covered = box_agreement(
            seg,
            r['gt_bboxes'].numpy(),
            r['gt_bboxes_labels'],
            slack=3,
            unknown_ok=True)
        inside_all.append(inside)
        covered_all.append(covered * len(r['gt_bboxes']))
        boxes += len(r['gt_bboxes'])
    assert boxes > 50
    assert sum(covered_all) / boxes > 0.97
    if 'cornernet' not in name:
        assert np.mean(inside_all) > 0.99
