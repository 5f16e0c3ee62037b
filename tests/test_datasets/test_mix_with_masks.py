"""mmdet's Mosaic / MixUp (and their cached RTMDet versions) carrying the
semantic mask, on the real images of data/samples.

The geometry is checked against mmdet's own image path: the images are
painted with their masks (label l -> grey 3 l + 4), run through the same
transform with the same random draws, and the labels read back from
mmdet's output image must equal the transformed mask wherever the mask is
locally constant (bilinear resizing blurs only the edges)."""
import copy

import numpy as np
import pytest

from blitznet_mm.testing.builders import coco_mini_dataset
from blitznet_mm.testing.mask_alignment import LOAD, UNKNOWN, box_agreement
from blitznet_mm.testing.mask_alignment import build_transform as _build
from blitznet_mm.testing.mask_alignment import interior, painted, read_paint


def assert_boxes_follow(boxes, geo, dst_hw, got):
    """mmdet's MixUp box steps with the replayed ``geo``: rescale, clip,
    flip, translate, clip, drop the boxes outside."""
    b = boxes.clone()
    b.rescale_([geo['scale'], geo['scale']])
    b.clip_(geo['jit_hw'])
    if geo['flip']:
        b.flip_(geo['jit_hw'], direction='horizontal')
    b.translate_([-geo['offset'][1], -geo['offset'][0]])
    b.clip_(dst_hw)
    b = b[b.is_inside(dst_hw).numpy()]
    np.testing.assert_allclose(got.numpy(), b.numpy(), atol=1e-4)


@pytest.fixture(scope='module')
def raw(coco_mini):
    ds = coco_mini_dataset(coco_mini, pipeline=LOAD)
    return [ds[i] for i in range(len(ds))]


def _run_pair(cfg, feed, seed):
    """The transform on real images and on painted copies, same draws."""
    outs = []
    for paint_it in (False, True):
        t = _build(cfg)
        np.random.seed(seed)
        res = None
        for r in feed():
            r = painted(r) if paint_it else copy.deepcopy(r)
            if 'mix_results' in r and paint_it:
                r['mix_results'] = [painted(m) for m in r['mix_results']]
            res = t(r)
        outs.append(res)
    return outs


def test_mix_labels_rule():
    from blitznet_mm.datasets.transforms import mix_labels
    a = np.array([[0, 0, 3, 3, 255, 3, 7]], np.uint8)
    b = np.array([[0, 5, 0, 3, 5, 5, -1]], np.int16)
    # bg+bg, bg+object, object+bg, same class, unknown, two classes, uncovered
    assert mix_labels(a, b).tolist() == [[0, 5, 3, 3, 255, 255, 7]]
    # no background class: only equal labels survive
    assert mix_labels(a, b, background=None).tolist() == \
        [[0, 255, 255, 3, 255, 255, 7]]


@pytest.mark.parametrize('kind', ['Mosaic', 'CachedMosaic'])
def test_mosaic_moves_masks_with_images_and_boxes(raw, kind):
    cfg = dict(type=kind + 'WithMasks', img_scale=(640, 640), pad_val=114.)
    checked = []
    for seed in range(3):
        if kind == 'Mosaic':

            def feed(seed=seed):
                r = copy.deepcopy(raw[seed])
                r['mix_results'] = [
                    raw[(seed + k) % len(raw)] for k in (3, 7, 11)
                ]
                yield r
        else:
            cfg.update(max_cached_images=10, random_pop=False)

            def feed(seed=seed):  # the cache fills, then mosaics
                for k in range(8):
                    yield raw[(seed * 5 + k) % len(raw)]

        out, out_p = _run_pair(cfg, feed, seed)
        seg = out['gt_seg_map']
        assert seg.shape == out['img'].shape[:2] == (1280, 1280)
        read = read_paint(out_p['img'])
        # mmdet's image geometry = ours, wherever the mask is constant
        ok = interior(seg) & (seg != 255)
        agree = (read[ok] == seg[ok]).mean()
        assert ok.sum() > 1e5 and agree > 0.9995, agree
        # the padding (no image) is unknown, never a class
        assert (read[seg == 255] != 0).mean() > 0.99
        inside, covered = box_agreement(seg, out['gt_bboxes'].numpy(),
                                        out['gt_bboxes_labels'])
        assert inside > 0.99 and covered > 0.97, (inside, covered)
        checked.append((agree, inside, covered))
    assert len(checked) == 3


@pytest.mark.parametrize('kind', ['MixUp', 'CachedMixUp'])
def test_mixup_places_the_mixed_in_mask_as_mmdet_places_its_image(raw, kind):
    """The image mixed into is black and the padding 0, so mmdet's output
    is half the mixed-in image: its labels read back must be the warped
    mask we mixed in (NOT_COVERED where it does not reach)."""
    from blitznet_mm.datasets.transforms.mix_with_masks import NOT_COVERED
    cfg = dict(
        type=kind + 'WithMasks',
        img_scale=(640, 640),
        ratio_range=(0.5, 1.6),
        pad_val=0)
    if kind == 'CachedMixUp':
        cfg.update(max_cached_images=4, random_pop=False, prob=1.0)
    checked, seed = 0, 0
    while checked < 4:
        seed += 1
        base = copy.deepcopy(raw[seed])
        other = raw[(seed + 5) % len(raw)]
        t = _build(cfg)
        np.random.seed(seed)
        target = dict(base, img=np.zeros_like(base['img']))
        if kind == 'MixUp':
            out = t(dict(target, mix_results=[painted(other)]))
        else:  # the cache holds the painted image, then the black one
            t(painted(other))
            out = t(target)
            if t._picked != 0:  # it mixed the black image into itself
                continue
        geo = t._replay(other['img'].shape[:2], base['img'].shape[:2])
        warped = t.warp_mixed_in(other['gt_seg_map'], geo,
                                 base['img'].shape[:2])
        # the replayed draws move the boxes exactly as mmdet moved them
        assert_boxes_follow(other['gt_bboxes'], geo, base['img'].shape[:2],
                            out['gt_bboxes'][len(base['gt_bboxes']):])
        # mmdet: uint8(0.5 * 0 + 0.5 * painted) -> our warped labels
        half = out['img'].astype(np.int32)
        read = np.full(half.shape[:2], UNKNOWN)
        for v in (2 * half[..., 0], 2 * half[..., 0] + 1):
            lab = read_paint(np.repeat(v[..., None], 3, 2))
            read = np.where(lab != UNKNOWN, lab, read)
        read = np.where(read == -1, NOT_COVERED, read)  # grey 1: padding
        ok = interior(warped)
        agree = (read[ok] == warped[ok]).mean()
        assert ok.sum() > 5e4 and agree > 0.9995, (seed, agree)
        checked += 1


@pytest.mark.parametrize('kind', ['MixUp', 'CachedMixUp'])
def test_mixup_masks_agree_with_both_images_boxes(raw, kind):
    cfg = dict(
        type=kind + 'WithMasks', img_scale=(640, 640), ratio_range=(0.8, 1.6))
    if kind == 'CachedMixUp':
        cfg.update(max_cached_images=4, random_pop=False)
    t = _build(cfg)
    np.random.seed(0)
    mixed = 0
    for i in range(12):
        r = copy.deepcopy(raw[i])
        if kind == 'MixUp':
            r['mix_results'] = [copy.deepcopy(raw[(i + 5) % len(raw)])]
        n0 = len(r['gt_bboxes'])
        out = t(r)
        seg = out['gt_seg_map']
        assert seg.shape == out['img'].shape[:2]
        mixed += len(out['gt_bboxes']) > n0
        boxes, labels = out['gt_bboxes'].numpy(), out['gt_bboxes_labels']
        inside, _ = box_agreement(seg, boxes, labels)
        # where objects of two classes overlap the label is unknown (255):
        # a box there may hold none of its class, but never only others'
        _, covered = box_agreement(seg, boxes, labels, unknown_ok=True)
        assert inside > 0.99 and covered > 0.97, (i, inside, covered)
    assert mixed >= 6


def test_mix_of_a_boxless_image_keeps_no_boxes(raw):
    """A masks-only image's objects have no boxes: mixed with boxed images,
    the output must not train them as detection background."""
    t = _build(dict(type='MosaicWithMasks', img_scale=(320, 320)))
    r = copy.deepcopy(raw[0])
    boxless = copy.deepcopy(raw[1])
    keep = np.zeros(len(boxless['gt_bboxes']), bool)
    for k in ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags'):
        boxless[k] = boxless[k][keep]
    r['mix_results'] = [boxless, raw[2], raw[3]]
    out = t(r)
    assert len(out['gt_bboxes']) == 0 == len(out['gt_bboxes_labels'])
    assert (out['gt_seg_map'] > 0).any() & (out['gt_seg_map'] < 255).any()
