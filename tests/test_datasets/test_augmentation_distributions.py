"""The shipped augmentation (configs/_base_/datasets/voc0712.py) measured by
what it does to real images of data/samples over thousands of draws, never
by the parameters it reports (paper Sec. 4.1; the authors' utils_tf.py):

- photometric: each op's effect with the other three at identity
  (brightness: the added shift; contrast: the std ratio, channel means
  kept; saturation: the HSV S ratio, H and V kept), and the four orders
  identified by which of the four compositions of the authors' orders,
  written here, the output image equals;
- zoom-out: the zoom rate, the canvas-to-image ratio, the offset of the
  image on the canvas and the canvas colour, read off the output canvas.

Statistics: every test has a fixed seed, so it is deterministic; a
distribution is accepted when its KS / chi-square / binomial p-value is
above 1e-3, i.e. a correct transform would fail for 1 seed in 1,000, while
the alternatives named in each test (a range off by 0.05 or more, a gain
instead of a mean-preserving contrast, p = 0.6) give p-values far below
1e-3 at these sample sizes (n >= 1,000: the KS critical distance at 1e-3 is
~0.06, the binomial one ~3.3 standard deviations = 37 of 1,000 draws).
"""
import cv2
import numpy as np
import pytest
from scipy import stats

from blitznet_mm.testing.builders import coco_mini_dataset, config_path

N = 2000
MEAN_BGR = (103.06, 115.90, 123.15)  # paper Sec. 4.1, BGR
# the authors' four orders (utils_tf.photometric_distortions)
AUTHORS_ORDERS = (('brightness', 'saturation', 'hue', 'contrast'),
                  ('saturation', 'brightness', 'contrast',
                   'hue'), ('contrast', 'hue', 'brightness', 'saturation'),
                  ('hue', 'saturation', 'contrast', 'brightness'))


@pytest.fixture(scope='module')
def images(coco_mini):
    ds = coco_mini_dataset(
        coco_mini, pipeline=[dict(type='LoadImageFromFile')])
    return [ds[i]['img'] for i in range(4)]


def _shipped(type_name):
    """The transform as configs/_base_/datasets/voc0712.py configures it,
    with overrides."""
    from mmengine.config import Config
    cfg = Config.fromfile(config_path('_base_/datasets/voc0712.py'))
    (entry, ) = [t for t in cfg.train_pipeline if t['type'] == type_name]
    return dict(entry)


def _build(cfg):
    from mmdet.registry import TRANSFORMS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    return TRANSFORMS.build(cfg)


def _photometric(**identity):
    return _build(dict(_shipped('BlitzNetPhotoMetricDistortion'), **identity))


def _small(img, size=32):
    return cv2.resize(
        img, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)


def _ks(x, lo, hi):
    return stats.kstest(x, stats.uniform(lo, hi - lo).cdf).pvalue


def test_brightness_adds_one_uniform_shift_of_32_grey_levels(images):
    """Saturation, hue, contrast at identity; a real image squeezed into
    [40, 216] so that +-32 never clips. The output minus the input is one
    constant per image (all pixels, all channels), ~ U(-31.875, 31.875)
    (0.125 of the range). Alternatives: +-0.125 * 128 or a gain fail the
    KS test / the constancy."""
    t = _photometric(
        saturation_range=(1, 1), hue_delta=0, contrast_range=(1, 1))
    img = _small(images[0]) * (176 / 255) + 40
    np.random.seed(10)
    shifts = []
    for _ in range(N):
        d = t(dict(img=img.copy()))['img'] - img
        assert np.ptp(d) < 1e-2
        shifts.append(d.mean())
    shifts = np.array(shifts)
    assert _ks(shifts, -31.875, 31.875) > 1e-3
    assert 31 < np.abs(shifts).max() <= 31.875 + 1e-3


def test_contrast_scales_each_channel_about_its_mean(images):
    """Brightness, saturation, hue at identity; the image squeezed to
    128 + 0.3 (x - 128) (no clipping at 1.5x). Per draw: channel means kept
    (TF adjust_contrast, not a gain), each channel's std scaled by the same
    factor ~ U(0.5, 1.5)."""
    t = _photometric(brightness_delta=0, saturation_range=(1, 1), hue_delta=0)
    img = 128 + 0.3 * (_small(images[1]) - 128)
    mean, std = img.mean((0, 1), dtype=np.float64), img.std((0, 1),
                                                            dtype=np.float64)
    np.random.seed(11)
    factors = []
    for _ in range(N):
        out = t(dict(img=img.copy()))['img']
        np.testing.assert_allclose(
            out.mean((0, 1), dtype=np.float64), mean, atol=1e-3)
        f = out.std((0, 1), dtype=np.float64) / std
        np.testing.assert_allclose(f, f[0], rtol=1e-4)
        factors.append(f[0])
    factors = np.array(factors)
    assert _ks(factors, 0.5, 1.5) > 1e-3
    assert factors.min() < 0.51 and factors.max() > 1.49


def test_saturation_scales_hsv_s_and_keeps_hue_and_value(images):
    """Brightness, hue, contrast at identity; the real image desaturated to
    S <= 0.6 (so that 1.5x never clips). Per draw the ratio S_out / S_in is
    one factor ~ U(0.5, 1.5) on every coloured pixel (S_in > 0.1), hue and
    value unchanged."""
    t = _photometric(brightness_delta=0, hue_delta=0, contrast_range=(1, 1))
    hsv = cv2.cvtColor(_small(images[2]) / 255., cv2.COLOR_BGR2HSV)
    hsv[..., 1] *= 0.6
    img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) * 255.
    h0 = cv2.cvtColor(img / 255., cv2.COLOR_BGR2HSV)
    col = (h0[..., 1] > 0.1) & (h0[..., 2] > 0.1)
    assert col.sum() > 100
    np.random.seed(12)
    ratios = []
    for _ in range(N):
        out = cv2.cvtColor(
            t(dict(img=img.copy()))['img'] / 255., cv2.COLOR_BGR2HSV)
        r = out[..., 1][col] / h0[..., 1][col]
        assert np.ptp(r) < 1e-2
        np.testing.assert_allclose(out[..., 2], h0[..., 2], atol=1e-4)
        dh = np.abs(out[..., 0] - h0[..., 0])[col]
        assert np.minimum(dh, 360 - dh).max() < 0.5
        ratios.append(np.median(r))
    ratios = np.array(ratios)
    assert _ks(ratios, 0.5, 1.5) > 1e-3
    assert ratios.min() < 0.51 and ratios.max() > 1.49


def _reference(img, order, p):
    """The authors' composition on [0, 1] (TF adjust_* semantics), in float64
    apart from OpenCV's float32 HSV, then a clip."""

    def hsv(x, fn):
        h = cv2.cvtColor(x.astype(np.float32), cv2.COLOR_BGR2HSV)
        fn(h)
        return cv2.cvtColor(h, cv2.COLOR_HSV2BGR).astype(np.float64)

    def sat(h):
        h[..., 1] = np.clip(h[..., 1] * p['saturation'], 0, 1)

    def hue(h):
        h[..., 0] = np.mod(h[..., 0] + 360 * p['hue'], 360)

    ops = dict(
        brightness=lambda x: x + p['brightness'],
        saturation=lambda x: hsv(x, sat),
        hue=lambda x: hsv(x, hue),
        contrast=lambda x: (x - x.mean((0, 1))) * p['contrast'] + x.mean(
            (0, 1)))
    x = img.astype(np.float64) / 255.
    for name in AUTHORS_ORDERS[order]:
        x = ops[name](x)
    return np.clip(x, 0, 1) * 255.


def test_four_orders_identified_by_the_image_are_uniform(images):
    """The shipped distortion (all four ops every time), 2,000 draws on a
    real 24 x 24 image made vivid (HSV S x 3, clipped): each output equals
    (to 0.05 grey levels) the composition of one of the authors' four
    orders with that draw's values; the orders so identified are uniform.

    Without clipping, brightness commutes with the other three (each is
    affine per pixel or channel and keeps a constant shift) and hue with
    saturation, so orders 0 (B S H C) and 3 (H S C B) give the same image
    (S H C); they differ only where saturation clips at 1, which the vivid
    image makes frequent. So: orders 1 and 2 each 1/4 and {0, 3} together
    1/2 (chi-square), and among the draws the image tells apart, 0 and 3
    equally often (binomial; the event that separates them is symmetric).
    A transform that skipped an op, applied one with p = 0.5 or swapped
    channels matches no order (first assertion)."""
    t = _photometric()
    hsv = cv2.cvtColor(_small(images[3], 24) / 255., cv2.COLOR_BGR2HSV)
    hsv[..., 1] = np.clip(hsv[..., 1] * 3, 0, 1)
    img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) * 255.
    np.random.seed(13)
    counts = {(0, ): 0, (1, ): 0, (2, ): 0, (3, ): 0, (0, 3): 0}
    ambiguous = 0
    for _ in range(N):
        r = t(dict(img=img.copy()))
        dist = np.array([
            np.abs(r['img'] - _reference(img, k, r['photometric'])).max()
            for k in range(4)
        ])
        assert dist.min() < 0.05, dist
        match = tuple(int(k) for k in np.flatnonzero(dist < 0.05))
        if match in counts:
            counts[match] += 1
        else:  # near-identity draws (e.g. contrast ~ 1) fit several
            ambiguous += 1
    assert ambiguous < N // 50
    group = [
        counts[(1, )], counts[(2, )],
        counts[(0, )] + counts[(3, )] + counts[(0, 3)]
    ]
    total = sum(group)
    assert stats.chisquare(group,
                           np.array([.25, .25, .5]) *
                           total).pvalue > 1e-3, counts
    split = counts[(0, )] + counts[(3, )]
    assert split > total // 5, counts
    assert stats.binomtest(counts[(0, )], split, 0.5).pvalue > 1e-3, counts


# --- zoom-out ---------------------------------------------------------------


def test_zoom_out_rate_ratio_offset_and_canvas_colour(images):
    """The shipped ZoomOut on a real 75 x 100 float32 image (the dtype the
    photometric step hands it), 2,000 draws, everything read off the output:

    - zoomed (canvas larger than the image) with p = 0.5 (binomial test);
    - ratio X = canvas width / 100 (midpoint of int(100 X)) ~ U(1.05, 4):
      KS, and the extremes within 0.02 of both ends (P(min > 1.07) for
      ~1,000 draws of U(1.05, 4) is e^-6.8);
    - the image sits unchanged at a uniform offset: left / (100 (X - 1)),
      top / (75 (X - 1)) ~ U(0, 1) (KS, over the draws whose free width is
      >= 50 px, so that int() rounding moves a value by < 1/37);
    - every other pixel is the mean colour (103.06, 115.90, 123.15) in BGR,
      at float32 precision.
    """
    t = _build(_shipped('ZoomOut'))
    img = np.ascontiguousarray(images[0][:75, :100]).astype(np.float32)
    h, w = img.shape[:2]
    fill = np.float32(MEAN_BGR)
    assert not (img == fill).all(-1).any()  # image pixels never look like it
    np.random.seed(14)
    zoomed, ratios, lefts, tops = 0, [], [], []
    for _ in range(N):
        out = t(dict(img=img.copy(), img_shape=(h, w)))['img']
        if out.shape == img.shape:
            np.testing.assert_array_equal(out, img)
            continue
        zoomed += 1
        H, W = out.shape[:2]
        ratio = (W + 0.5) / w
        assert abs(int(h * ratio) - H) <= 1
        inside = ~(out == fill).all(-1)
        rows, cols = np.flatnonzero(inside.any(1)), np.flatnonzero(
            inside.any(0))
        top, left = rows[0], cols[0]
        np.testing.assert_array_equal(out[top:top + h, left:left + w], img)
        assert inside.sum() == h * w  # all else is the canvas colour
        ratios.append(ratio)
        if w * (ratio - 1) >= 50:
            lefts.append((left + 0.5) / (w * (ratio - 1)))
            tops.append((top + 0.5) / (h * (ratio - 1)))
    assert stats.binomtest(zoomed, N, 0.5).pvalue > 1e-3, zoomed
    ratios = np.array(ratios)
    assert _ks(ratios, 1.05, 4) > 1e-3
    assert 1.05 - 1 / w <= ratios.min() < 1.07
    assert 3.98 < ratios.max() <= 4 + 1 / w
    assert len(lefts) > 700
    assert _ks(lefts, 0, 1) > 1e-3 and _ks(tops, 0, 1) > 1e-3
