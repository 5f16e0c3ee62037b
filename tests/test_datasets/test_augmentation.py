"""The authors' augmentation (docs/training_recipe.md), checked by its
distributions over thousands of draws on the real images of data/samples."""
import numpy as np
import pytest
from scipy import stats

from blitznet_mm.testing.builders import coco_mini_dataset

N = 2000


@pytest.fixture(scope='module')
def samples(coco_mini):
    ds = coco_mini_dataset(
        coco_mini,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadBlitzNetAnnotations')
        ])
    return [ds[i] for i in range(len(ds))]


def test_crop_aspect_is_uniform_and_area_follows_tf_sampler():
    """Coverage 0 on a square image: every first proposal is accepted, so
    the crops show the sampler itself: w/h ~ U(0.5, 2); the height uniform
    between the heights of areas 0.3 and 1 at that aspect (so the area is
    NOT uniform: its mean is checked against the integral)."""
    from blitznet_mm.datasets import sample_coverage_crop
    rng = np.random.RandomState(0)
    side = 400
    crops = np.array([
        sample_coverage_crop(side, side, np.zeros((0, 4)), 0., rng=rng)[0]
        for _ in range(N)
    ])
    w = crops[:, 2] - crops[:, 0]
    h = crops[:, 3] - crops[:, 1]
    aspect, area = w / h, w * h / side**2
    assert stats.kstest(aspect, stats.uniform(0.5, 1.5).cdf).pvalue > 1e-3
    assert area.min() >= 0.3 - 1e-9 and area.max() <= 1.0
    assert (crops[:, :2] >= 0).all() and (crops[:, 2:] <= side).all()
    # E[area] = E_a[ a * E[h^2 | a] ],
    # h ~ U(sqrt(.3/a), min(sqrt(1/a), 1, 1/a))
    a = np.linspace(0.5, 2, 20001)
    lo, hi = np.sqrt(0.3 / a), np.minimum(np.minimum(np.sqrt(1 / a), 1), 1 / a)
    expected = np.mean(a * (hi**3 - lo**3) / (3 * (hi - lo)))
    assert area.mean() == pytest.approx(expected, abs=0.01)
    # and clearly not U(0.3, 1), whose mean is 0.65
    assert abs(expected - 0.65) > 0.03


def test_crop_coverage_rule_one_box_suffices(samples):
    """Accepted crops cover at least one box by >= the drawn coverage; other
    boxes may be cut (mmdet's crop would demand every box)."""
    from blitznet_mm.datasets import box_coverage, sample_coverage_crop
    rng = np.random.RandomState(1)
    coverages = (0., .1, .3, .5, .7, .9)
    partial = fallback = 0
    for i in range(N):
        r = samples[i % len(samples)]
        boxes = r['gt_bboxes'].numpy()
        h, w = r['img'].shape[:2]
        cov = coverages[rng.randint(len(coverages))]
        crop, accepted = sample_coverage_crop(h, w, boxes, cov, rng=rng)
        c = box_coverage(crop[None].astype(float), boxes)[0]
        if accepted:
            assert c.max() >= cov
            partial += bool((c < cov).any())
        else:
            fallback += 1
            assert tuple(crop) == (0, 0, w, h)
    assert partial > N // 10
    assert fallback < N // 20


def test_crop_of_masks_only_image_treats_image_as_the_box(samples):
    from blitznet_mm.datasets import sample_coverage_crop
    rng = np.random.RandomState(2)
    areas = [
        np.prod(
            sample_coverage_crop(100, 100, np.zeros((0, 4)), .9,
                                 rng=rng)[0][2:]) for _ in range(300)
    ]
    # coverage 0.9 of the whole image: crops of >= 90% of it
    assert min(areas) >= 0.9 * 100 * 100


def test_crop_transform_moves_image_mask_and_boxes_together(samples):
    from blitznet_mm.datasets import CoverageRandomCrop
    np.random.seed(3)
    crop = CoverageRandomCrop()
    kept = 0
    for i in range(200):
        r = samples[i % len(samples)]
        src = dict(r, gt_bboxes=r['gt_bboxes'].clone())
        out = crop(dict(src))
        x1, y1, x2, y2 = out['crop_bbox']
        np.testing.assert_array_equal(out['img'], r['img'][y1:y2, x1:x2])
        np.testing.assert_array_equal(out['gt_seg_map'],
                                      r['gt_seg_map'][y1:y2, x1:x2])
        boxes = out['gt_bboxes'].numpy()
        assert len(boxes) == len(out['gt_bboxes_labels'])
        assert (boxes >= 0).all()
        assert (boxes[:, [0, 2]] <= x2 - x1).all()
        assert (boxes[:, [1, 3]] <= y2 - y1).all()
        centres = r['gt_bboxes'].centers.numpy()
        inside = ((centres[:, 0] >= x1) & (centres[:, 0] <= x2)
                  & (centres[:, 1] >= y1) & (centres[:, 1] <= y2))
        assert inside.sum() == len(boxes)
        kept += len(boxes)
    assert kept > 200


def _small_real_image(samples, size=48):
    import cv2
    img = samples[0]['img']
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def _hsv(img):
    import cv2
    return cv2.cvtColor((img / 255.).astype(np.float32), cv2.COLOR_BGR2HSV)


def test_hue_shift_range_is_the_originals(samples):
    """+-0.07 of a turn = +-25.2 degrees, uniform (mmdet: +-18 on OpenCV's
    0-180 scale = +-36 degrees)."""
    from blitznet_mm.datasets import BlitzNetPhotoMetricDistortion
    t = BlitzNetPhotoMetricDistortion(
        brightness_delta=0, saturation_range=(1, 1), contrast_range=(1, 1))
    img = _small_real_image(samples)
    h0 = _hsv(img.astype(np.float32))
    ok = (h0[..., 1] > 0.3) & (h0[..., 2] > 0.2) & (h0[..., 2] < 0.95)
    assert ok.sum() > 50
    np.random.seed(4)
    shifts = []
    for _ in range(N):
        out = t(dict(img=img.copy()))['img']
        d = np.deg2rad(_hsv(out)[..., 0] - h0[..., 0])[ok]
        shifts.append(np.rad2deg(np.angle(np.exp(1j * d).mean())))
    shifts = np.array(shifts)
    assert np.abs(shifts).max() <= 25.2 + 0.5
    assert np.abs(shifts).max() > 24
    assert stats.kstest(shifts, stats.uniform(-25.2, 50.4).cdf).pvalue > 1e-3


def test_contrast_keeps_the_channel_means(samples):
    from blitznet_mm.datasets.transforms.photometric import adjust_contrast
    img = samples[1]['img'].astype(np.float32) / 255.
    for f in (0.5, 0.8, 1.3, 1.5):
        out = adjust_contrast(img, f)
        np.testing.assert_allclose(
            out.mean(axis=(0, 1), dtype=np.float64),
            img.mean(axis=(0, 1), dtype=np.float64),
            atol=1e-6)
        # per channel, not a grey-level blend: each channel's spread scales
        np.testing.assert_allclose(
            out.std(axis=(0, 1), dtype=np.float64),
            f * img.std(axis=(0, 1), dtype=np.float64),
            rtol=1e-4)


def test_all_four_ops_in_four_orders_no_channel_swap_clipped(samples):
    from blitznet_mm.datasets import BlitzNetPhotoMetricDistortion
    t = BlitzNetPhotoMetricDistortion()
    img = _small_real_image(samples, 32)
    np.random.seed(5)
    orders, params = [], []
    for _ in range(N):
        r = t(dict(img=img.copy()))
        out = r['img']
        assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 255
        orders.append(r['photometric']['order'])
        params.append([
            r['photometric'][k]
            for k in ('brightness', 'saturation', 'hue', 'contrast')
        ])
    counts = np.bincount(orders, minlength=4)
    assert stats.chisquare(counts).pvalue > 1e-3
    p = np.array(params)
    bounds = ((-.125, .125), (.5, 1.5), (-.07, .07), (.5, 1.5))
    for col, (lo, hi) in enumerate(bounds):
        assert stats.kstest(p[:, col],
                            stats.uniform(lo, hi - lo).cdf).pvalue > 1e-3
    # brightness alone shifts the three channels equally: channels are never
    # swapped (mmdet's PhotoMetricDistortion swaps them with p = 0.5)
    t = BlitzNetPhotoMetricDistortion(
        saturation_range=(1, 1), hue_delta=0, contrast_range=(1, 1))
    mid = (img.astype(np.float32) * 0.5 + 64)
    for _ in range(200):
        out = t(dict(img=mid.copy()))['img']
        diff = (out - mid).reshape(-1, 3)
        np.testing.assert_allclose(diff, diff[:, :1].repeat(3, 1), atol=1e-3)


@pytest.mark.parametrize('seg_border,border', [('background', 0),
                                               ('ignore', 255)])
def test_zoom_out_mask_border_and_masks_less_images(samples, seg_border,
                                                    border):
    from blitznet_mm.datasets import ZoomOut
    np.random.seed(6)
    t = ZoomOut(mean=(103.06, 115.90, 123.15), prob=1.0, seg_border=seg_border)
    r = samples[2]
    h, w = r['gt_seg_map'].shape
    for _ in range(20):
        out = t(dict(r, gt_bboxes=r['gt_bboxes'].clone()))
        seg, boxes = out['gt_seg_map'], out['gt_bboxes'].numpy()
        # where the original sits: the canvas offset of the first box
        dx, dy = (boxes[0, :2] - r['gt_bboxes'].numpy()[0, :2]).round()
        dx, dy = int(dx), int(dy)
        inner = seg[dy:dy + h, dx:dx + w]
        np.testing.assert_array_equal(inner, r['gt_seg_map'])
        outside = np.ones(seg.shape, bool)
        outside[dy:dy + h, dx:dx + w] = False
        assert outside.any() and (seg[outside] == border).all()
    # an image without a mask never gains background pixels
    no_mask = dict(
        r,
        gt_bboxes=r['gt_bboxes'].clone(),
        gt_seg_map=np.full((h, w), 255, np.uint8))
    assert (t(no_mask)['gt_seg_map'] == 255).all()


# --- the fast transforms against the arithmetic they replace (issue 6) ---


def _reference_ops():
    """The distortion's ops as first written (numpy on [0, 1], contrast in
    float64, np.mod for the hue): what the fast ones must equal."""
    import cv2

    def hsv_op(x, fn):
        hsv = cv2.cvtColor(x, cv2.COLOR_BGR2HSV)
        fn(hsv)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)

    def sat(x, f):
        return hsv_op(
            x, lambda h: h.__setitem__(
                (Ellipsis, 1), np.clip(h[..., 1] * f, 0, 1)))

    def hue(x, d):
        return hsv_op(
            x, lambda h: h.__setitem__(
                (Ellipsis, 0), np.mod(h[..., 0] + 360. * d, 360.)))

    def contrast(x, f):
        m = x.mean(axis=(0, 1), keepdims=True, dtype=np.float64)
        return ((x - m) * f + m).astype(np.float32)

    return dict(
        brightness=lambda x, d: x + np.float32(d),
        saturation=sat,
        hue=hue,
        contrast=contrast)


def _reference_photometric(img, order, params):
    from blitznet_mm.datasets.transforms.photometric import ORDERS
    ops = _reference_ops()
    out = img.astype(np.float32) / 255.
    for name in ORDERS[order]:
        out = ops[name](out, params[name])
    return np.clip(out, 0., 1.) * np.float32(255.)


def test_photometric_equals_reference_arithmetic(samples):
    """Same draws -> the same image: brightness, saturation and hue bit for
    bit, contrast within float32 rounding; the whole distortion within
    1e-3 grey levels, in all four orders, on every real image."""
    from blitznet_mm.datasets import BlitzNetPhotoMetricDistortion
    from blitznet_mm.datasets.transforms.photometric import OPS
    ref_ops = _reference_ops()
    # values off [0, 1] too, as a chain of ops makes them
    x = samples[3]['img'].astype(np.float32) / 255. * 1.3 - .1
    for name, values in (('brightness', (-.125, .1)),
                         ('saturation', (0., .5, 1.5)), ('hue', (-.5, -.07, 0.,
                                                                 .07, .5))):
        for v in values:
            np.testing.assert_array_equal(OPS[name](x, v), ref_ops[name](x, v))
    for f in (.5, 1.5):
        np.testing.assert_allclose(
            OPS['contrast'](x, f), ref_ops['contrast'](x, f), atol=1e-6)
    t = BlitzNetPhotoMetricDistortion()
    np.random.seed(7)
    seen = set()
    for _ in range(3):
        for r in samples:
            img = r['img'].copy()
            out = t(dict(img=img))
            d = out['photometric']
            assert out['img'].dtype == np.float32
            np.testing.assert_array_equal(img, r['img'])  # input untouched
            np.testing.assert_allclose(
                out['img'],
                _reference_photometric(r['img'], d['order'], d),
                rtol=0,
                atol=1e-3)
            seen.add(d['order'])
    assert seen == {0, 1, 2, 3}


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_zoom_out_equals_mmdet_expand(samples, dtype):
    """The one-pass canvas: the same draws, pixels, mask and boxes as
    mmdet's Expand (uint8: the mean truncated as np.full casts it)."""
    from mmdet.datasets.transforms import Expand

    from blitznet_mm.datasets import ZoomOut
    mean = (103.06, 115.90, 123.15)
    z = ZoomOut(mean=mean, prob=0.5)
    e = Expand(
        mean=mean,
        to_rgb=False,
        ratio_range=(1.05, 4),
        prob=0.5,
        seg_ignore_label=0)
    zoomed = 0
    for i in range(2 * len(samples)):
        r = samples[i % len(samples)]
        img = r['img'].astype(dtype) * dtype(1.01 if dtype != np.uint8 else 1)
        outs = []
        for t in (e, z):
            np.random.seed(i)
            outs.append(
                (t(dict(r, img=img,
                        gt_bboxes=r['gt_bboxes'].clone())), np.random.rand()))
        (a, next_a), (b, next_b) = outs
        assert next_a == next_b  # the same random draws
        assert b['img'].dtype == a['img'].dtype == dtype
        np.testing.assert_array_equal(b['img'], a['img'])
        np.testing.assert_array_equal(b['gt_seg_map'], a['gt_seg_map'])
        np.testing.assert_array_equal(b['gt_bboxes'].numpy(),
                                      a['gt_bboxes'].numpy())
        zoomed += b['img'].shape != img.shape
    assert 0 < zoomed < 2 * len(samples)


def test_semantic_map_from_rles_equals_per_instance_painting(coco_mini):
    """One rasterisation of all instances (RLE areas, bounding-box painting)
    gives the map of decoding and painting each mask (polygons and the
    crowd RLE of data/samples, plus overlapping instances of equal area)."""
    from mmdet.datasets.transforms import LoadAnnotations

    from blitznet_mm.datasets.transforms.loading import (instance_rle,
                                                         instances_to_semantic,
                                                         rles_to_semantic)
    ds = coco_mini_dataset(coco_mini, pipeline=[])
    poly2mask = LoadAnnotations()._poly2mask
    kinds = set()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        h, w = info['height'], info['width']
        insts = [x for x in info['instances'] if x.get('mask')]
        kinds |= {type(x['mask']).__name__ for x in insts}
        labels = [x['bbox_label'] + 1 for x in insts]
        masks = [poly2mask(x['mask'], h, w) for x in insts]
        new = rles_to_semantic([instance_rle(x['mask'], h, w) for x in insts],
                               labels, h, w)
        assert new.flags.c_contiguous and new.dtype == np.uint8
        np.testing.assert_array_equal(
            new, instances_to_semantic(masks, labels, h, w))
    assert kinds == {'list', 'dict'}
    import pycocotools.mask as mask_utils
    m = np.zeros((40, 30, 4), np.uint8, order='F')
    m[5:20, 3:18, 0] = m[10:25, 8:23, 1] = m[0:40, 0:30, 2] = 1  # 0, 1 tie
    rles = mask_utils.encode(m)
    np.testing.assert_array_equal(
        rles_to_semantic(rles, [3, 4, 5, 6], 40, 30),
        instances_to_semantic([m[..., k] for k in range(4)], [3, 4, 5, 6], 40,
                              30))


def test_training_pipeline_equals_reference_pipeline(coco_mini):
    """The whole training pipeline of the configs, fast transforms against
    the reference ones (photometric as first written, mmdet's Expand, crops
    as plain arrays) with the same seed: the same boxes, labels and masks,
    images within 1e-3 grey levels."""
    from mmcv.transforms import BaseTransform
    from mmdet.datasets.transforms import Expand
    from mmdet.registry import TRANSFORMS
    from mmengine.config import Config

    from blitznet_mm.datasets import BlitzNetPhotoMetricDistortion
    from blitznet_mm.testing.builders import config_path

    class RefPhoto(BlitzNetPhotoMetricDistortion):

        def transform(self, results):
            order, p = self.draw()
            results['img'] = _reference_photometric(results['img'], order, p)
            return results

    class Plain(BaseTransform):

        def __init__(self, crop):
            self.crop = crop

        def transform(self, results):
            results = self.crop(results)
            for k in ('img', 'gt_seg_map'):
                results[k] = np.asarray(results[k])
            return results

    cfg = Config.fromfile(config_path('blitznet300_coco.py'))
    ds = coco_mini_dataset(coco_mini, pipeline=[])
    fast = [TRANSFORMS.build(t) for t in cfg.train_pipeline]
    ref = []
    for t, c in zip(fast, cfg.train_pipeline):
        if c['type'] == 'BlitzNetPhotoMetricDistortion':
            t = RefPhoto()
        elif c['type'] == 'ZoomOut':
            t = Expand(
                mean=c['mean'],
                to_rgb=False,
                ratio_range=c['ratio_range'],
                prob=c['prob'],
                seg_ignore_label=0)
        elif c['type'] == 'CoverageRandomCrop':
            t = Plain(t)
        ref.append(t)
    for seed in range(3 * len(ds)):
        outs = []
        for steps in (ref, fast):
            np.random.seed(seed)
            r = ds.get_data_info(seed % len(ds))
            for t in steps:
                r = t(r) if r is not None else None
            outs.append(r)
        a, b = outs
        assert (a is None) == (b is None)
        if a is None:
            continue
        np.testing.assert_allclose(
            b['inputs'].numpy(), a['inputs'].numpy(), rtol=0, atol=1e-3)
        sa, sb = a['data_samples'], b['data_samples']
        np.testing.assert_array_equal(sb.gt_sem_seg.sem_seg.numpy(),
                                      sa.gt_sem_seg.sem_seg.numpy())
        np.testing.assert_array_equal(sb.gt_instances.bboxes.numpy(),
                                      sa.gt_instances.bboxes.numpy())
        np.testing.assert_array_equal(sb.gt_instances.labels.numpy(),
                                      sa.gt_instances.labels.numpy())
