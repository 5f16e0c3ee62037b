"""mmdet's crops (RTMDet's ``RandomCrop``, CornerNet's
``RandomCenterCropPad``) for BlitzNet's mixed annotations.

- mmdet 3.3's ``RandomCrop`` crops ``gt_seg_map`` with the image, but with
  ``allow_negative_crop=False`` (its default, RTMDet's recipe) it returns
  None for a crop without boxes, and an image without boxes (masks only)
  has no other crop: the dataset would never train it.
  :class:`RandomCropWithMasks` crops such an image anyway.
- ``RandomCenterCropPad`` raises ``NotImplementedError`` when a boxed image
  has a ``gt_seg_map``, and leaves the mask uncropped for an image without
  boxes. :class:`RandomCenterCropPadWithMasks` runs mmdet's transform on
  the image and boxes, and crops and pads the mask at the centre and size
  mmdet chose (its ``_crop_image_and_paste``, recorded as it runs).
"""
from typing import Union

import numpy as np
from mmdet.datasets.transforms import RandomCenterCropPad, RandomCrop
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type

from ...structures.seg_labels import IGNORE_INDEX


@TRANSFORMS.register_module()
class RandomCropWithMasks(RandomCrop):
    """mmdet's ``RandomCrop``; an image without boxes (masks only) is
    cropped as a negative crop would be, instead of being dropped (None).
    A boxed image keeps mmdet's rule (``allow_negative_crop``).

    Args:
        **kwargs: mmdet's ``RandomCrop`` (``crop_size``, ``crop_type``,
            ``allow_negative_crop``, ``recompute_bbox``,
            ``bbox_clip_border``).
    """

    @autocast_box_type()
    def transform(self, results: dict) -> Union[dict, None]:
        boxes = results.get('gt_bboxes')
        boxless = boxes is not None and len(boxes) == 0
        crop_size = self._get_crop_size(results['img'].shape[:2])
        return self._crop_data(results, crop_size, self.allow_negative_crop
                               or boxless)


def paste_mask(seg: np.ndarray, center, size, pad_val: int) -> np.ndarray:
    """The mask side of mmdet's ``RandomCenterCropPad._crop_image_and_paste``:
    a ``size`` = (h, w) canvas of ``pad_val`` whose centre is the mask's
    pixel ``center`` = (y, x), holding the part of the mask it covers.

    Returns:
        np.ndarray: (h, w), the mask's dtype.
    """
    cy, cx = center
    th, tw = size
    h, w = seg.shape[:2]
    # the same integer arithmetic as mmdet's, so that the mask lands on the
    # pixels its image does
    x0, x1 = max(0, cx - tw // 2), min(cx + tw // 2, w)
    y0, y1 = max(0, cy - th // 2), min(cy + th // 2, h)
    out = np.full((th, tw), pad_val, dtype=seg.dtype)
    oy, ox = th // 2 - (cy - y0), tw // 2 - (cx - x0)
    out[oy:oy + y1 - y0, ox:ox + x1 - x0] = seg[y0:y1, x0:x1]
    return out


@TRANSFORMS.register_module()
class RandomCenterCropPadWithMasks(RandomCenterCropPad):
    """mmdet's ``RandomCenterCropPad`` (CornerNet) with ``gt_seg_map``
    cropped and padded as the image (train and test mode).

    Args:
        seg_pad_val (int): Mask value where the output shows the padding
            (the image's mean). Defaults to 255 (ignored, as mmdet's
            ``Pad``).
        **kwargs: mmdet's ``RandomCenterCropPad`` (``crop_size``,
            ``ratios``, ``border``, ``mean``, ``std``, ``to_rgb``,
            ``test_mode``, ...).

    Raises:
        ValueError: if the mask's size differs from the image's.
    """

    def __init__(self, seg_pad_val: int = IGNORE_INDEX, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seg_pad_val = seg_pad_val

    def _crop_image_and_paste(self, image, center, size):
        # the last call is the crop mmdet keeps (it retries until a crop
        # holds a box centre)
        self._paste = (center, size)
        return super()._crop_image_and_paste(image, center, size)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        seg = results.pop('gt_seg_map', None)  # mmdet refuses masks
        if seg is not None and seg.shape[:2] != results['img'].shape[:2]:
            raise ValueError(
                f'RandomCenterCropPadWithMasks: gt_seg_map {seg.shape[:2]} '
                f'and img {results["img"].shape[:2]} of '
                f'{results.get("img_path", "an image")} differ')
        self._paste = None
        results = super().transform(results)
        if seg is not None:
            center, size = self._paste
            results['gt_seg_map'] = paste_mask(seg, center, size,
                                               self.seg_pad_val)
        return results
