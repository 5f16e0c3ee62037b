"""The random crop of the authors' code: TensorFlow's
``sample_distorted_bounding_box`` with a minimum object *coverage*
(docs/training_recipe.md, "Crop").

Differences from mmdet's ``MinIoURandomCrop``: coverage (intersection / box
area) instead of IoU; ONE covered box suffices instead of every box; a crop
is always attempted (no 1/7 "keep the image" draw, though 0 is one of the
coverages); the crop is drawn by aspect ratio and height (TF's sampler),
not by two side lengths.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type


def propose_crops(img_h: int,
                  img_w: int,
                  num: int,
                  area_range: Tuple[float, float] = (0.3, 1.0),
                  aspect_range: Tuple[float, float] = (0.5, 2.0),
                  rng=np.random) -> np.ndarray:
    """``num`` crop proposals drawn as TensorFlow's
    ``sample_distorted_bounding_box`` draws them.

    Per proposal: aspect ratio ``a = w/h`` ~ U(aspect_range); the height is
    an integer drawn uniformly between the heights that give the smallest
    and the largest allowed area at that aspect (capped by the image); the
    width is ``round(h * a)``; the position is uniform. So the crop AREA is
    not uniform in ``area_range`` (TF samples the height, not the area).
    Proposals that miss the area range or do not fit are marked invalid.

    Returns:
        np.ndarray: (num, 5) float: x1, y1, x2, y2 in pixels and a validity
        flag (1. or 0.).
    """
    area = img_h * img_w
    min_area, max_area = area_range[0] * area, area_range[1] * area
    a = rng.uniform(aspect_range[0], aspect_range[1], num)
    h_lo = np.rint(np.sqrt(min_area / a))
    h_hi = np.rint(np.sqrt(max_area / a))
    # the widest crop must fit: largest h with round(h * a) <= img_w
    too_wide = np.rint(h_hi * a) > img_w
    h_hi = np.where(too_wide, np.floor((img_w + 0.5 - 1e-7) / a), h_hi)
    h_hi = np.minimum(h_hi, img_h)
    h_lo = np.minimum(h_lo, h_hi)
    h = h_lo + np.floor(rng.uniform(0, 1, num) * (h_hi - h_lo + 1))
    w = np.rint(h * a)
    # one step towards the range when rounding left it (as TF does)
    low = w * h < min_area
    h = np.where(low, h + 1, h)
    w = np.where(low, np.rint(h * a), w)
    high = w * h > max_area
    h = np.where(high, h - 1, h)
    w = np.where(high, np.rint(h * a), w)
    valid = ((w * h >= min_area) & (w * h <= max_area) & (w <= img_w)
             & (h <= img_h) & (w > 0) & (h > 0))
    h, w = np.maximum(h, 1), np.maximum(w, 1)
    x1 = np.floor(rng.uniform(0, 1, num) * np.maximum(img_w - w + 1, 1))
    y1 = np.floor(rng.uniform(0, 1, num) * np.maximum(img_h - h + 1, 1))
    return np.stack([x1, y1, x1 + w, y1 + h, valid.astype(float)], axis=1)


def box_coverage(crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Fraction of each box's area inside each crop.

    Args:
        crops (np.ndarray): (M, 4) x1, y1, x2, y2 pixels.
        boxes (np.ndarray): (K, 4) x1, y1, x2, y2 pixels.

    Returns:
        np.ndarray: (M, K) intersection / box area (0 for empty boxes).
    """
    lt = np.maximum(crops[:, None, :2], boxes[None, :, :2])
    rb = np.minimum(crops[:, None, 2:4], boxes[None, :, 2:4])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = (boxes[:, 2:4] - boxes[:, :2]).clip(0).prod(-1)
    return np.where(area > 0, inter / np.maximum(area, 1e-12), 0.)


def sample_coverage_crop(img_h: int,
                         img_w: int,
                         boxes: np.ndarray,
                         min_coverage: float,
                         max_attempts: int = 50,
                         area_range: Tuple[float, float] = (0.3, 1.0),
                         aspect_range: Tuple[float, float] = (0.5, 2.0),
                         rng=np.random) -> Tuple[np.ndarray, bool]:
    """The first of ``max_attempts`` proposals (:func:`propose_crops`) in
    which at least one box has ``>= min_coverage`` of its area; the whole
    image when none does. An image without boxes counts as one box
    covering the whole image (TF's ``use_image_if_no_bounding_boxes``).

    Returns:
        tuple: ((4,) int crop x1, y1, x2, y2 in pixels, whether a proposal
        was accepted).
    """
    if len(boxes) == 0:
        boxes = np.array([[0., 0., img_w, img_h]])
    props = propose_crops(img_h, img_w, max_attempts, area_range, aspect_range,
                          rng)
    ok = (props[:, 4] > 0) & (box_coverage(props[:, :4], boxes)
                              >= min_coverage).any(axis=1)
    if ok.any():
        return props[np.argmax(ok), :4].astype(np.int64), True
    return np.array([0, 0, img_w, img_h], dtype=np.int64), False


@TRANSFORMS.register_module()
class CoverageRandomCrop(BaseTransform):
    """Always crop: a minimum coverage is drawn from ``min_coverages``, then
    :func:`sample_coverage_crop` picks the crop. Boxes whose centre lies
    inside the crop (borders included) are kept and clipped to it; the
    image and ``gt_seg_map`` are cropped by the same pixels.

    Required keys: ``img``; optional ``gt_bboxes`` (HorizontalBoxes, pixels),
    ``gt_bboxes_labels``, ``gt_ignore_flags``, ``gt_seg_map``.
    Modified keys: those, ``img_shape``. Added key: ``crop_bbox`` (x1, y1,
    x2, y2 pixels of the crop in the input image).

    Args:
        min_coverages (Sequence[float]): Drawn uniformly per image.
            Defaults to (0, .1, .3, .5, .7, .9), as the authors' code.
        area_range (tuple[float]): Crop area as fractions of the image.
            Defaults to (0.3, 1.0).
        aspect_range (tuple[float]): Crop width / height. Defaults to
            (0.5, 2.0).
        max_attempts (int): Proposals per image. Defaults to 50.

    Raises:
        ValueError: on ranges outside (0, 1] (area) or non-positive aspect.
    """

    def __init__(self,
                 min_coverages: Sequence[float] = (0., .1, .3, .5, .7, .9),
                 area_range: Sequence[float] = (0.3, 1.0),
                 aspect_range: Sequence[float] = (0.5, 2.0),
                 max_attempts: int = 50) -> None:
        if not 0 < area_range[0] <= area_range[1] <= 1:
            raise ValueError(f'area_range must be in (0, 1], got {area_range}')
        if not 0 < aspect_range[0] <= aspect_range[1]:
            raise ValueError(f'aspect_range must be positive, got '
                             f'{aspect_range}')
        self.min_coverages = tuple(min_coverages)
        self.area_range = tuple(area_range)
        self.aspect_range = tuple(aspect_range)
        self.max_attempts = max_attempts

    @autocast_box_type()
    def transform(self, results: dict) -> Optional[dict]:
        img = results['img']
        h, w = img.shape[:2]
        boxes = results.get('gt_bboxes')
        arr = (boxes.numpy() if boxes is not None else np.zeros((0, 4)))
        cov = self.min_coverages[np.random.randint(len(self.min_coverages))]
        (x1, y1, x2,
         y2), _ = sample_coverage_crop(h, w, arr, cov, self.max_attempts,
                                       self.area_range, self.aspect_range)
        results['img'] = img[y1:y2, x1:x2]
        results['img_shape'] = results['img'].shape[:2]
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = results['gt_seg_map'][y1:y2, x1:x2]
        if boxes is not None:
            c = boxes.centers.numpy()
            keep = ((c[:, 0] >= x1) & (c[:, 0] <= x2) & (c[:, 1] >= y1)
                    & (c[:, 1] <= y2))
            boxes = boxes[keep]
            boxes.translate_([-x1, -y1])
            boxes.clip_(results['img_shape'])
            results['gt_bboxes'] = boxes
            for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
                if key in results:
                    results[key] = results[key][keep]
        results['crop_bbox'] = np.array([x1, y1, x2, y2])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_coverages='
                f'{self.min_coverages}, area_range={self.area_range}, '
                f'aspect_range={self.aspect_range}, '
                f'max_attempts={self.max_attempts})')
