"""mmdet's multi-image transforms (YOLOX's and RTMDet's recipes) carrying
the semantic mask ``gt_seg_map`` of BlitzNet's mixed annotations.

mmdet 3.3's ``Mosaic``, ``CachedMosaic``, ``MixUp`` and ``CachedMixUp``
move the image and the boxes but leave ``gt_seg_map`` as the first image's
(a mask of another size and place than the image it is packed with). Each
class here is the mmdet transform, run as it is for the image and the
boxes; the mask is then placed with the same geometry:

- Mosaic: mmdet's own paste/crop coordinates (its ``_mosaic_combine``,
  recorded as it runs) and its keep-ratio scale, nearest-neighbour;
- MixUp: mmdet draws its jitter, flip and crop offsets inline, so the draws
  are replayed from the RNG state it started from (the state afterwards is
  restored); ``tests/test_datasets/test_mix_with_masks.py`` checks the replayed
  geometry against mmdet's own output image.

Labels where two images meet (MixUp shows both at 50%): :func:`mix_labels`.
Mixed annotations (docs/data.md): an image without boxes (masks only) has
objects no box names; mixed into a boxed image they would be trained as
detection background, so an output made from such an image keeps no boxes
(the detector then gives it no detection loss, its mask still trains). An
image without a mask is all 255 and stays ignored wherever it shows.
"""
from typing import List, Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms.utils import cache_randomness
from mmdet.datasets.transforms import CachedMixUp, CachedMosaic, MixUp, Mosaic
from mmdet.registry import TRANSFORMS
from numpy import random

from ...structures.seg_labels import BACKGROUND, IGNORE_INDEX

#: a pixel the mixed-in image does not cover (MixUp's padding)
NOT_COVERED = -1


def mix_labels(a: np.ndarray,
               b: np.ndarray,
               ignore_index: int = IGNORE_INDEX,
               background: Optional[int] = BACKGROUND) -> np.ndarray:
    """Label of each pixel of a 50/50 blend of two images with masks ``a``
    (the image mixed into) and ``b`` (the mixed-in image, int, with
    :data:`NOT_COVERED` where it does not reach), both (H, W).

    Uncovered: ``a``. Either unknown (``ignore_index``): unknown. One
    background: the other's object (both images' boxes are targets too).
    The same class: that class. Two different objects: unknown.
    ``background=None`` (a set without background, COCO-Stuff): every pair
    of different labels is unknown.

    Returns:
        np.ndarray: (H, W) uint8.
    """
    a = a.astype(np.int32)
    b = b.astype(np.int32)
    out = np.where(a == b, a, ignore_index)
    if background is not None:
        out = np.where(a == background, b, out)
        out = np.where(b == background, a, out)
    out = np.where((a == ignore_index) | (b == ignore_index), ignore_index,
                   out)
    return np.where(b == NOT_COVERED, a, out).astype(np.uint8)


def drop_boxes(results: dict) -> None:
    """No boxes (an empty box set of the same type), labels or flags."""
    keep = np.zeros(len(results['gt_bboxes']), bool)
    for key in ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags'):
        if results.get(key) is not None:
            results[key] = results[key][keep]


def _seg_of(patch: dict, name: str) -> Optional[np.ndarray]:
    seg = patch.get('gt_seg_map')
    if seg is not None and seg.shape[:2] != patch['img'].shape[:2]:
        raise ValueError(f'{name}: gt_seg_map {seg.shape[:2]} and img '
                         f'{patch["img"].shape[:2]} of '
                         f'{patch.get("img_path", "an image")} differ')
    return seg


class _MosaicMasks:
    """The mask side of Mosaic and CachedMosaic (mixed in before them).

    Args:
        seg_pad_val (int): Mask value of the canvas no image covers (the
            image's ``pad_val``). Defaults to 255 (ignored, as mmdet's
            ``Pad`` pads masks).
        ignore_index (int): The mask of an image without one. Defaults to
            255.
        **kwargs: mmdet's transform's (``img_scale`` (w, h), ``prob``,
            ``max_cached_images``, ...).

    Raises:
        ValueError: if an image's mask and image sizes differ.
    """

    def __init__(self,
                 seg_pad_val: int = IGNORE_INDEX,
                 ignore_index: int = IGNORE_INDEX,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.seg_pad_val = seg_pad_val
        self.ignore_index = ignore_index

    def _mosaic_combine(self, loc, center_position_xy, img_shape_wh):
        # mmdet's coordinates, kept for the masks of the same patches
        coords = super()._mosaic_combine(loc, center_position_xy, img_shape_wh)
        self._pastes.append(coords)
        return coords

    def _masks_after(self, results: dict, patches: List[dict]) -> dict:
        """``results`` after mmdet's transform; ``patches`` the four input
        images (dicts with ``img``, ``gt_seg_map``, ``gt_bboxes``)."""
        if len(self._pastes) != len(patches):  # not applied (prob, cache)
            return results
        segs = [_seg_of(p, type(self).__name__) for p in patches]
        if all(s is None for s in segs):
            return results
        canvas = np.full(results['img'].shape[:2], self.seg_pad_val, np.uint8)
        for p, seg, (paste, crop) in zip(patches, segs, self._pastes):
            h, w = p['img'].shape[:2]
            r = min(self.img_scale[1] / h, self.img_scale[0] / w)
            size = (int(w * r), int(h * r))  # as mmdet resizes the image
            seg = np.full((h, w), self.ignore_index, np.uint8) \
                if seg is None else seg
            seg = mmcv.imresize(seg, size, interpolation='nearest')
            (x1p, y1p, x2p, y2p), (x1c, y1c, x2c, y2c) = paste, crop
            canvas[y1p:y2p, x1p:x2p] = seg[y1c:y2c, x1c:x2c]
        results['gt_seg_map'] = canvas
        if any(len(p['gt_bboxes']) == 0 for p in patches):
            drop_boxes(results)
        return results


@TRANSFORMS.register_module()
class MosaicWithMasks(_MosaicMasks, Mosaic):
    """mmdet's ``Mosaic`` with ``gt_seg_map`` placed as the images are
    (arguments: :class:`_MosaicMasks`)."""

    def transform(self, results: dict) -> dict:
        self._pastes = []
        patches = [
            dict(
                img=results['img'],
                gt_seg_map=results.get('gt_seg_map'),
                gt_bboxes=results['gt_bboxes'])
        ]
        patches += results.get('mix_results', [])
        return self._masks_after(super().transform(results), patches)


@TRANSFORMS.register_module()
class CachedMosaicWithMasks(_MosaicMasks, CachedMosaic):
    """mmdet's ``CachedMosaic`` (RTMDet) with ``gt_seg_map``; the cache
    holds each image's mask (arguments: :class:`_MosaicMasks`)."""

    @cache_randomness
    def get_indexes(self, cache: list) -> list:
        self._picked = super().get_indexes(cache)
        return self._picked

    def transform(self, results: dict) -> dict:
        self._pastes, self._picked = [], None
        first = dict(
            img=results['img'],
            gt_seg_map=results.get('gt_seg_map'),
            gt_bboxes=results['gt_bboxes'])
        out = super().transform(results)
        if self._picked is None:
            return out
        # the cache is not popped between the pick and the paste
        patches = [first] + [self.results_cache[i] for i in self._picked]
        return self._masks_after(out, patches)


class _MixUpMasks:
    """The mask side of MixUp and CachedMixUp (mixed in before them): the
    mixed-in mask placed as its image, labels by :func:`mix_labels`.

    Args:
        ignore_index (int): Unknown label (and the mask of an image
            without one). Defaults to 255.
        background (int, optional): The background label (None: the set
            has none). Defaults to 0.
        **kwargs: mmdet's transform's (``img_scale`` (w, h),
            ``ratio_range``, ``flip_ratio``, ``pad_val``, ``prob``, ...).

    Raises:
        ValueError: if an image's mask and image sizes differ.
    """

    def __init__(self,
                 ignore_index: int = IGNORE_INDEX,
                 background: Optional[int] = BACKGROUND,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.background = background

    def _replay(self, src_hw: Sequence[int], dst_hw: Sequence[int]) -> dict:
        """mmdet's MixUp geometry, drawn again from ``self._rng_state`` in
        mmdet's order: jitter, flip, y offset, x offset."""
        after = random.get_state()
        random.set_state(self._rng_state)
        jit = random.uniform(*self.ratio_range)
        flip = random.uniform(0, 1) > self.flip_ratio
        w, h = self.dynamic_scale
        jit_hw = (int(h * jit), int(w * jit))
        pad_h, pad_w = max(jit_hw[0], dst_hw[0]), max(jit_hw[1], dst_hw[1])
        y_off = random.randint(0, pad_h - dst_hw[0]) if pad_h > dst_hw[0] \
            else 0
        x_off = random.randint(0, pad_w - dst_hw[1]) if pad_w > dst_hw[1] \
            else 0
        random.set_state(after)
        scale = min(h / src_hw[0], w / src_hw[1])
        return dict(
            resized=(int(src_hw[1] * scale), int(src_hw[0] * scale)),
            jit_hw=jit_hw,
            flip=flip,
            offset=(y_off, x_off),
            pad_hw=(pad_h, pad_w),
            scale=scale * jit)

    def warp_mixed_in(self, seg: np.ndarray, geo: dict,
                      dst_hw: Sequence[int]) -> np.ndarray:
        """The mixed-in image's mask (h, w) placed as mmdet places its
        image: keep-ratio resize into ``dynamic_scale``, jitter resize,
        flip, crop at the offsets; int16, :data:`NOT_COVERED` outside."""
        w, h = self.dynamic_scale
        canvas = np.full((h, w), NOT_COVERED, np.int16)
        small = mmcv.imresize(seg, geo['resized'], interpolation='nearest')
        canvas[:small.shape[0], :small.shape[1]] = small
        canvas = mmcv.imresize(
            canvas, geo['jit_hw'][::-1], interpolation='nearest')
        if geo['flip']:
            canvas = canvas[:, ::-1]
        padded = np.full(geo['pad_hw'], NOT_COVERED, np.int16)
        padded[:canvas.shape[0], :canvas.shape[1]] = canvas
        y, x = geo['offset']
        return padded[y:y + dst_hw[0], x:x + dst_hw[1]]

    def _masks_after(self, results: dict, seg_a, boxless_a: bool,
                     retrieved: Optional[dict]) -> dict:
        if retrieved is None or len(retrieved['gt_bboxes']) == 0:
            return results  # mmdet mixed nothing in
        name = type(self).__name__
        seg_b = _seg_of(retrieved, name)
        if seg_a is None and seg_b is None:
            return results
        dst_hw = results['img'].shape[:2]
        if seg_a is None:
            seg_a = np.full(dst_hw, self.ignore_index, np.uint8)
        if seg_b is None:
            seg_b = np.full(retrieved['img'].shape[:2], self.ignore_index,
                            np.uint8)
        geo = self._replay(retrieved['img'].shape[:2], dst_hw)
        results['gt_seg_map'] = mix_labels(
            seg_a, self.warp_mixed_in(seg_b, geo, dst_hw), self.ignore_index,
            self.background)
        if boxless_a:
            drop_boxes(results)
        return results


@TRANSFORMS.register_module()
class MixUpWithMasks(_MixUpMasks, MixUp):
    """mmdet's ``MixUp`` (YOLOX) with ``gt_seg_map`` (arguments:
    :class:`_MixUpMasks`)."""

    def transform(self, results: dict) -> dict:
        self._rng_state = random.get_state()  # MixUp draws from here on
        seg_a = results.get('gt_seg_map')
        boxless = len(results['gt_bboxes']) == 0
        retrieved = results['mix_results'][0]
        return self._masks_after(super().transform(results), seg_a, boxless,
                                 retrieved)


@TRANSFORMS.register_module()
class CachedMixUpWithMasks(_MixUpMasks, CachedMixUp):
    """mmdet's ``CachedMixUp`` (RTMDet) with ``gt_seg_map``; the cache
    holds each image's mask (arguments: :class:`_MixUpMasks`)."""

    @cache_randomness
    def get_indexes(self, cache: list) -> int:
        self._picked = super().get_indexes(cache)
        # CachedMixUp's geometry draws follow the pick
        self._rng_state = random.get_state()
        return self._picked

    def transform(self, results: dict) -> dict:
        self._picked = None
        seg_a = results.get('gt_seg_map')
        boxless = len(results['gt_bboxes']) == 0
        out = super().transform(results)
        if self._picked is None:
            return out
        return self._masks_after(out, seg_a, boxless,
                                 self.results_cache[self._picked])
