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
ORDERS = (('brightness', 'saturation', 'hue', 'contrast'),
          ('saturation', 'brightness', 'contrast', 'hue'),
          ('contrast', 'hue', 'brightness', 'saturation'),
          ('hue', 'saturation', 'contrast', 'brightness'))


def adjust_brightness(img: np.ndarray, delta: float) -> np.ndarray:
    """Add ``delta`` (units of the [0, 1] range) to every channel."""
    return img + np.float32(delta)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """``(x - mean) * factor + mean`` with the mean of each channel over the
    image: the per-channel means are unchanged (TF ``adjust_contrast``).

    Args:
        img (np.ndarray): (H, W, C) float32.
    """
    mean = img.mean(axis=(0, 1), keepdims=True, dtype=np.float64)
    return ((img - mean) * factor + mean).astype(np.float32)


def _hsv_op(img: np.ndarray, fn) -> np.ndarray:
    # OpenCV's float HSV: H in degrees [0, 360), S and V in [0, 1]
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    fn(hsv)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Multiply the HSV saturation by ``factor``, clipped to [0, 1]
    (TF ``adjust_saturation``). ``img`` is (H, W, 3) float32 BGR."""

    def scale(hsv):
        hsv[..., 1] = np.clip(hsv[..., 1] * factor, 0, 1)
    return _hsv_op(img, scale)


def adjust_hue(img: np.ndarray, delta: float) -> np.ndarray:
    """Rotate the hue by ``delta`` of a full turn (0.07 = 25.2 degrees),
    wrapping around (TF ``adjust_hue``). ``img`` is (H, W, 3) float32 BGR."""

    def rotate(hsv):
        hsv[..., 0] = np.mod(hsv[..., 0] + 360. * delta, 360.)
    return _hsv_op(img, rotate)


OPS = dict(brightness=adjust_brightness, contrast=adjust_contrast,
           saturation=adjust_saturation, hue=adjust_hue)


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

    def __init__(self,
                 brightness_delta: float = 0.125,
                 saturation_range: Sequence[float] = (0.5, 1.5),
                 hue_delta: float = 0.07,
                 contrast_range: Sequence[float] = (0.5, 1.5)) -> None:
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
        out = img.astype(np.float32) / 255.
        for name in ORDERS[order]:
            out = OPS[name](out, params[name])
        results['img'] = np.clip(out, 0., 1.) * np.float32(255.)
        results['photometric'] = dict(order=order, **params)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_delta='
                f'{self.brightness_delta}, saturation_range='
                f'{self.saturation_range}, hue_delta={self.hue_delta}, '
                f'contrast_range={self.contrast_range})')
