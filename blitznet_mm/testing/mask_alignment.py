"""Helpers of the mask-alignment tests of the mask-carrying mmdet
transforms (Mosaic, MixUp, RandomCenterCropPad, ...): an image painted with
its mask (label l -> grey 3 l + 4) runs through the transform beside the
mask, and the labels read back from the image must equal the transformed
mask wherever it is locally constant."""
import copy

import cv2
import numpy as np

LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadBlitzNetAnnotations')]
UNKNOWN = -2


def paint(seg: np.ndarray) -> np.ndarray:
    """(H, W) labels -> (H, W, 3) uint8 grey 3 l + 4 (255 -> 253)."""
    lab = np.where(seg == 255, 83, seg.astype(np.int32))
    return np.repeat((3 * lab + 4).astype(np.uint8)[..., None], 3, axis=2)


def read_paint(img: np.ndarray) -> np.ndarray:
    """Inverse of :func:`paint` on channel 0; UNKNOWN where no label's
    grey is (padding, blurred edges)."""
    v = img[..., 0].astype(np.int32) - 4
    lab = np.where(v % 3 == 0, v // 3, UNKNOWN)
    return np.where(lab == 83, 255, lab)


def interior(seg: np.ndarray, k: int = 5) -> np.ndarray:
    """Pixels whose k x k neighbourhood holds one label (-1..255)."""
    kernel = np.ones((k, k), np.uint8)
    s = seg.astype(np.int16)
    return cv2.erode(s, kernel) == cv2.dilate(s, kernel)


def box_agreement(seg, boxes, labels, slack=3, unknown_ok=False):
    """(fraction of object pixels inside a box of their class, fraction of
    boxes holding a pixel of their class - or, ``unknown_ok``, of 255)."""
    inside, total = 0, 0
    for c in np.unique(labels):
        ys, xs = np.nonzero(seg == c + 1)
        ok = np.zeros(len(xs), bool)
        for (x1, y1, x2, y2), lab in zip(boxes, labels):
            if lab == c:
                ok |= ((xs >= x1 - slack) & (xs <= x2 + slack) &
                       (ys >= y1 - slack) & (ys <= y2 + slack))
        inside, total = inside + ok.sum(), total + len(xs)
    extra = (255, ) if unknown_ok else ()
    covered = [
        np.isin(
            seg[int(y1):int(np.ceil(y2)) + 1,
                int(x1):int(np.ceil(x2)) + 1], (c + 1, ) + extra).any()
        for (x1, y1, x2, y2), c in zip(boxes, labels)
    ]
    return inside / max(total, 1), float(np.mean(covered)) if covered else 1.


def painted(r: dict) -> dict:
    r = copy.deepcopy(r)
    r['img'] = paint(r['gt_seg_map'])
    return r


def build_transform(cfg):
    """The transform ``cfg`` from mmdet's registry (blitznet_mm's
    registered)."""
    from mmdet.registry import TRANSFORMS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    return TRANSFORMS.build(cfg)
