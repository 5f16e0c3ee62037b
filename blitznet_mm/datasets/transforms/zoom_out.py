"""Zoom-out of the authors' code (docs/training_recipe.md, "Zoom-out"):
mmdet's ``Expand`` with the mask border as a config key, and the canvas
built in one pass."""
import cv2
import numpy as np
from mmdet.datasets.transforms import Expand
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type

from ...structures.seg_labels import BACKGROUND, IGNORE_INDEX

# dtypes cv2.copyMakeBorder pads (a Scalar value holds <= 4 channels)
_CV_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32,
              np.float64)


def pad_to_canvas(img: np.ndarray, height: int, width: int, top: int,
                  left: int, value) -> np.ndarray:
    """``img`` at (``top``, ``left``) of a ``height`` x ``width`` canvas
    filled with ``value`` (a scalar, or one value per channel).

    Equal to ``np.full(shape, value, img.dtype)`` then pasting ``img`` (what
    mmdet's ``Expand`` does), ``value`` cast to ``img.dtype`` as ``np.full``
    casts it (float32 rounding; truncation for integers): OpenCV writes the
    canvas once, where ``np.full`` with one value per channel broadcasts
    over a last axis of length 3 (~10x slower for a zoom-out canvas, on
    average 7x the image).
    """
    channels = img.shape[2] if img.ndim == 3 else 1
    fill = np.broadcast_to(np.asarray(value, dtype=np.float64),
                           (channels, )).astype(img.dtype)
    bottom, right = height - top - img.shape[0], width - left - img.shape[1]
    if img.dtype.type in _CV_DTYPES and channels <= 4:
        return cv2.copyMakeBorder(
            img,
            top,
            bottom,
            left,
            right,
            cv2.BORDER_CONSTANT,
            value=[float(v) for v in fill])
    canvas = np.empty((height, width) + img.shape[2:], img.dtype)
    canvas[...] = fill if img.ndim == 3 else fill[0]
    canvas[top:top + img.shape[0], left:left + img.shape[1]] = img
    return canvas


@TRANSFORMS.register_module()
class ZoomOut(Expand):
    """Place the image at a random offset on a canvas ``X`` times larger
    (``X ~ U(ratio_range)``, with probability ``prob``) filled with the mean
    colour; boxes and ``gt_seg_map`` move with it (mmdet's ``Expand``: the
    same random draws in the same order, the same canvas pixels).

    The new border of the mask is ``seg_border``: ``'background'`` (0, the
    authors' code: the canvas holds no object) or ``'ignore'`` (255: the
    canvas is not a real scene). An image without a mask (all ignore)
    keeps an all-ignore mask either way, so a boxes-only image never gains
    background pixels; so does an image of a segmentation set without
    background (``seg_background=False`` in its data info: label 0 is a
    class there).

    The canvas has the image's dtype (float32 after the photometric
    distortion: its values are not integers, and rounding them would change
    every pixel) and is written once by :func:`pad_to_canvas`.

    Args:
        mean (Sequence[float]): Canvas colour in the image's channel order.
        ratio_range (tuple[float]): Range of X. Defaults to (1.05, 4), as
            the authors' code.
        prob (float): Probability of zooming out. Defaults to 0.5.
        seg_border (str): ``'background'`` or ``'ignore'``. Defaults to
            ``'background'``.
        ignore_index (int): The ignore label. Defaults to 255.
        **kwargs: Other ``Expand`` arguments (``to_rgb`` ...).

    Raises:
        ValueError: for an unknown ``seg_border``.
    """

    def __init__(self,
                 mean=(0, 0, 0),
                 ratio_range=(1.05, 4),
                 prob=0.5,
                 seg_border: str = 'background',
                 ignore_index: int = IGNORE_INDEX,
                 **kwargs) -> None:
        if seg_border not in ('background', 'ignore'):
            raise ValueError("seg_border must be 'background' or 'ignore', "
                             f'got {seg_border!r}')
        self.seg_border = seg_border
        self.ignore_index = ignore_index
        self.border_label = (
            BACKGROUND if seg_border == 'background' else ignore_index)
        kwargs.setdefault('to_rgb', False)
        super().__init__(
            mean=mean,
            ratio_range=ratio_range,
            prob=prob,
            seg_ignore_label=self.border_label,
            **kwargs)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        # mmdet's Expand.transform (3.3), draws in its order: probability,
        # ratio, offset
        if self._random_prob() > self.prob:
            return results
        img = results['img']
        h, w = img.shape[:2]
        ratio = self._random_ratio()
        height, width = int(h * ratio), int(w * ratio)
        left, top = self._random_left_top(ratio, h, w)
        results['img'] = pad_to_canvas(img, height, width, top, left,
                                       self.mean)
        results['img_shape'] = results['img'].shape[:2]
        if results.get('gt_bboxes', None) is not None:
            results['gt_bboxes'].translate_([left, top])
        if results.get('gt_masks', None) is not None:
            results['gt_masks'] = results['gt_masks'].expand(
                height, width, top, left)
        seg = results.get('gt_seg_map', None)
        if seg is not None:
            # a mask-less image (all ignore) keeps an all-ignore canvas; so
            # does a set without background (label 0 is a class there)
            border = (
                self.border_label if (seg != self.ignore_index).any()
                and results.get('seg_background', True) else self.ignore_index)
            results['gt_seg_map'] = pad_to_canvas(seg, height, width, top,
                                                  left, border)
        return results
