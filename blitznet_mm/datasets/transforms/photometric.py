"""The photometric distortion of the authors' code (paper Sec. 4.1, "data
augmentation"; docs/training_recipe.md).

All four operations run on every image, in one of four fixed orders, on
the image scaled to [0, 1]; the result is clipped once at the end. This
differs from mmdet's ``PhotoMetricDistortion`` (each op with p = 0.5, a
random channel swap, hue +-18 on OpenCV's 0-180 scale, contrast as a plain
gain, no clipping).
"""
from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

# the four orders of the authors' code, picked uniformly per image
ORDERS = (('brightness', 'saturation', 'hue',
           'contrast'), ('saturation', 'brightness', 'contrast', 'hue'),
          ('contrast', 'hue', 'brightness',
           'saturation'), ('hue', 'saturation', 'contrast', 'brightness'))

# The four operations work in place on the transform's own float32 buffer
# (``*_`` functions): the image is never copied between them, and per-channel
# arithmetic goes through OpenCV, whose loops do not pay numpy's cost of
# broadcasting over a last axis of length 3. The results equal the
# straightforward numpy expressions they replace bit for bit, except the
# contrast and the hue + saturation pair of order 3, equal to float32
# rounding (tests/test_datasets/test_augmentation.py compares them).


def _brightness_(img: np.ndarray, delta: float) -> np.ndarray:
    img += np.float32(delta)
    return img


def _contrast_(img: np.ndarray, factor: float) -> np.ndarray:
    # x * f + mean * (1 - f) per channel in one pass; the channel means in
    # double (cv2.mean accumulates in double, as numpy's float64 mean)
    c = img.shape[2]
    mean = cv2.mean(img)[:c]
    m = np.zeros((c, c + 1))
    m[np.arange(c), np.arange(c)] = factor
    m[:, c] = np.asarray(mean) * (1. - factor)
    return cv2.transform(img, m, dst=img)


def _hsv_(img: np.ndarray, fn) -> np.ndarray:
    # OpenCV's float HSV: H in degrees [0, 360), S and V in [0, 1]; back
    # into the same buffer
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    fn(hsv)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR, dst=img)


def _scale_saturation(hsv: np.ndarray, factor: float) -> None:
    s = hsv[..., 1]
    s *= np.float32(factor)
    np.clip(s, 0, 1, out=s)


def _saturation_(img: np.ndarray, factor: float) -> np.ndarray:
    return _hsv_(img, lambda hsv: _scale_saturation(hsv, factor))


def _rotate_hue(hsv: np.ndarray, delta: float) -> None:
    shift = np.float32(360. * delta)
    h = hsv[..., 0]
    h += shift
    if abs(shift) > 180.:  # beyond the transform's range: np.mod
        np.mod(h, np.float32(360.), out=h)
        return
    # np.mod(h + shift, 360) for |shift| <= 180 and h in [0, 360]: one
    # wrap suffices, and x - 360 (x >= 360) and x + 360 (x < 0) are the
    # float32 results np.mod gives (its fmod is exact there), ~5x faster
    np.subtract(h, np.float32(360.), out=h, where=h >= 360.)
    np.add(h, np.float32(360.), out=h, where=h < 0.)


def _hue_(img: np.ndarray, delta: float) -> np.ndarray:
    return _hsv_(img, lambda hsv: _rotate_hue(hsv, delta))


def _hue_saturation_(img: np.ndarray, delta: float,
                     factor: float) -> np.ndarray:
    # hue then saturation in ONE HSV round trip (two conversions saved).
    # Only for an image in [0, 1] (order 3 starts with them): there the
    # skipped BGR -> HSV -> BGR round trip is the identity to float32
    # rounding (< 1e-3 grey levels); after a brightness shift it is not
    # (OpenCV's HSV of pixels below 0 does not round-trip)
    def both(hsv):
        _rotate_hue(hsv, delta)
        _scale_saturation(hsv, factor)

    return _hsv_(img, both)


def _float(img: np.ndarray) -> np.ndarray:
    return np.array(img, dtype=np.float32, copy=True)


def adjust_brightness(img: np.ndarray, delta: float) -> np.ndarray:
    """Add ``delta`` (units of the [0, 1] range) to every channel."""
    return _brightness_(_float(img), delta)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """``(x - mean) * factor + mean`` with the mean of each channel over the
    image: the per-channel means are unchanged (TF ``adjust_contrast``).
    Computed as ``x * factor + mean * (1 - factor)`` in float32 (the mean
    in double): within float32 rounding (~1e-7) of the float64 expression.

    Args:
        img (np.ndarray): (H, W, C) float32, C <= 4.
    """
    return _contrast_(_float(img), factor)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Multiply the HSV saturation by ``factor``, clipped to [0, 1]
    (TF ``adjust_saturation``). ``img`` is (H, W, 3) float32 BGR."""
    return _saturation_(_float(img), factor)


def adjust_hue(img: np.ndarray, delta: float) -> np.ndarray:
    """Rotate the hue by ``delta`` of a full turn (0.07 = 25.2 degrees),
    wrapping around (TF ``adjust_hue``). ``img`` is (H, W, 3) float32 BGR."""
    return _hue_(_float(img), delta)


OPS = dict(
    brightness=adjust_brightness,
    contrast=adjust_contrast,
    saturation=adjust_saturation,
    hue=adjust_hue)
# the in-place versions the transform chains on its own buffer
_OPS_ = dict(
    brightness=_brightness_,
    contrast=_contrast_,
    saturation=_saturation_,
    hue=_hue_)
# uint8 -> [0, 1]: the float32 quotients x / 255 (as img.astype(float32) /
# 255.), looked up instead of converted and divided
_TO_UNIT = np.arange(256, dtype=np.float32) / np.float32(255.)


@TRANSFORMS.register_module()
class BlitzNetPhotoMetricDistortion(BaseTransform):
    """Brightness, saturation, hue and contrast, all four every time, in one
    of the four orders of :data:`ORDERS`, then a clip to the valid range.

    Required keys: ``img`` (H, W, 3) BGR, uint8 or float in [0, 255].
    Modified keys: ``img`` (float32 in [0, 255]).
    Added keys: ``photometric`` (dict: ``order`` index and the drawn
    ``brightness``, ``saturation``, ``hue``, ``contrast``).

    Args:
        brightness_delta (float): Additive shift drawn from
            U(-delta, delta), in units of the [0, 1] range. Defaults to
            0.125 (= 32 on 0-255), as the authors' code.
        saturation_range (tuple[float]): Saturation factor range.
            Defaults to (0.5, 1.5).
        hue_delta (float): Hue rotation drawn from U(-delta, delta), a
            fraction of a full turn. Defaults to 0.07 (25.2 degrees).
        contrast_range (tuple[float]): Contrast factor range (mean
            preserving per channel). Defaults to (0.5, 1.5).
    """

    def __init__(
        self,
        brightness_delta: float = 0.125,
        saturation_range: Sequence[float] = (0.5, 1.5),
        hue_delta: float = 0.07,
        contrast_range: Sequence[float] = (0.5, 1.5)
    ) -> None:
        for name, (lo, hi) in (('saturation_range', saturation_range),
                               ('contrast_range', contrast_range)):
            if not 0 <= lo <= hi:
                raise ValueError(f'{name} must be 0 <= low <= high, got '
                                 f'{(lo, hi)}')
        if not 0 <= hue_delta <= 0.5:
            raise ValueError(f'hue_delta is a fraction of a turn in [0, 0.5],'
                             f' got {hue_delta}')
        self.brightness_delta = brightness_delta
        self.saturation_range = tuple(saturation_range)
        self.hue_delta = hue_delta
        self.contrast_range = tuple(contrast_range)

    def draw(self) -> Tuple[int, dict]:
        """One random order and the four parameters."""
        order = np.random.randint(len(ORDERS))
        params = dict(
            brightness=np.random.uniform(-self.brightness_delta,
                                         self.brightness_delta),
            saturation=np.random.uniform(*self.saturation_range),
            hue=np.random.uniform(-self.hue_delta, self.hue_delta),
            contrast=np.random.uniform(*self.contrast_range))
        return order, params

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'{results.get("img_path", "image")}: the '
                             f'photometric distortion needs a 3-channel '
                             f'image, got shape {img.shape}')
        order, params = self.draw()
        if img.dtype == np.uint8:
            out = cv2.LUT(img, _TO_UNIT)
        else:
            out = _float(img)
            out /= np.float32(255.)
        names = ORDERS[order]
        if names[:2] == ('hue', 'saturation'):
            out = _hue_saturation_(out, params['hue'], params['saturation'])
            names = names[2:]
        for name in names:
            out = _OPS_[name](out, params[name])
        np.clip(out, 0., 1., out=out)
        out *= np.float32(255.)
        results['img'] = out
        results['photometric'] = dict(order=order, **params)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_delta='
                f'{self.brightness_delta}, saturation_range='
                f'{self.saturation_range}, hue_delta={self.hue_delta}, '
                f'contrast_range={self.contrast_range})')
