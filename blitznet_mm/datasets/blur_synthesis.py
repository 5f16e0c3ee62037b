"""Synthetic blur on real images, for blur-region segmentation in the manner
of BDNet (Zhao et al., IEEE Access 2020: blurred regions segmented from a
ResNet trunk with an FCN-style decoder; docs/blur.md).

A sample is a real image in which some regions are re-rendered with
defocus (Gaussian) or linear motion blur, and a class map of the blurred
pixels: 0 sharp (background), 1 motion, 2 defocus - BlitzNet's label rule
with the classes ``BLUR_CLASSES`` (``blitznet_mm.structures.seg_labels``).
The filters are OpenCV's (``cv2.GaussianBlur``, ``cv2.filter2D``); this
module only draws the kernels, the regions and the mix.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: detection-style class names; segmentation labels are index + 1
BLUR_CLASSES = ('motion', 'defocus')
MOTION, DEFOCUS = 1, 2


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """Linear motion-blur kernel: a 1-pixel anti-aliased line of ``length``
    pixels (rounded up to odd, so that the kernel is centred and shifts
    nothing) through the centre at ``angle`` degrees (counter-clockwise from
    the x axis), normalised to sum 1.

    Returns:
        np.ndarray: (k, k) float32, k = ``length`` rounded up to odd.

    Raises:
        ValueError: ``length`` < 2.
    """
    if length < 2:
        raise ValueError(f'motion blur length {length} < 2 pixels')
    k = length | 1
    c = (k - 1) / 2
    dx = np.cos(np.deg2rad(angle)) * c
    dy = -np.sin(np.deg2rad(angle)) * c
    canvas = np.zeros((k, k), np.float32)
    shift = 4  # sub-pixel end points (cv2.line fixed point)
    p0 = tuple(int(round(v * (1 << shift))) for v in (c - dx, c - dy))
    p1 = tuple(int(round(v * (1 << shift))) for v in (c + dx, c + dy))
    cv2.line(canvas, p0, p1, 1.0, 1, cv2.LINE_AA, shift)
    return canvas / canvas.sum()


def blur(img: np.ndarray,
         kind: int,
         strength: float,
         angle: float = 0.) -> np.ndarray:
    """The whole ``img`` (H, W, 3) uint8 blurred: ``DEFOCUS`` is a Gaussian
    of standard deviation ``strength`` pixels, ``MOTION`` a line of
    ``strength`` pixels at ``angle`` degrees (:func:`motion_kernel`).
    Borders are reflected."""
    if kind == DEFOCUS:
        return cv2.GaussianBlur(
            img, (0, 0), strength, borderType=cv2.BORDER_REFLECT_101)
    if kind == MOTION:
        return cv2.filter2D(
            img,
            -1,
            motion_kernel(int(round(strength)), angle),
            borderType=cv2.BORDER_REFLECT_101)
    raise ValueError(f'unknown blur kind {kind}; expected {MOTION} (motion) '
                     f'or {DEFOCUS} (defocus)')


def random_region(
    height: int,
    width: int,
    rng: np.random.Generator,
    area: Tuple[float, float] = (0.05, 0.35)
) -> np.ndarray:
    """A random ellipse or star-shaped polygon covering roughly ``area``
    (fractions of the image). Returns an (H, W) bool mask."""
    mask = np.zeros((height, width), np.uint8)
    frac = rng.uniform(*area)
    r = np.sqrt(frac * height * width / np.pi)  # radius of that area
    cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
    if rng.random() < 0.5:
        aspect = rng.uniform(0.5, 2.0)
        axes = (int(r * np.sqrt(aspect)), int(r / np.sqrt(aspect)))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0,
                    360, 1, -1)
    else:
        n = int(rng.integers(5, 10))
        # evenly spread vertex angles: a blob, never a thin sliver
        ang = (np.arange(n) + rng.uniform(-0.3, 0.3, n)) * 2 * np.pi / n
        rad = r * rng.uniform(0.6, 1.3, n)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
        cv2.fillPoly(mask, [pts.round().astype(np.int32)], 1)
    return mask.astype(bool)


def compose(
    img: np.ndarray, regions: Sequence[Tuple[np.ndarray, int, float, float]]
) -> Tuple[np.ndarray, np.ndarray]:
    """Blur ``regions`` of ``img`` in order; a later region overwrites an
    earlier one where they overlap, in the pixels and in the labels.

    Args:
        img (np.ndarray): (H, W, 3) uint8.
        regions: ``(mask, kind, strength, angle)`` with mask (H, W) bool.

    Returns:
        tuple: the blurred image (H, W, 3) uint8 and the label map (H, W)
        uint8 (0 sharp, ``MOTION``, ``DEFOCUS``).
    """
    out = img.copy()
    label = np.zeros(img.shape[:2], np.uint8)
    for mask, kind, strength, angle in regions:
        out[mask] = blur(out, kind, strength, angle)[mask]
        label[mask] = kind
    return out, label


def sample_regions(
    img_shape: Tuple[int, int],
    rng: np.random.Generator,
    objects: Optional[List[np.ndarray]] = None,
    defocus_sigma: Tuple[float, float] = (2., 6.),
    motion_length: Tuple[int, int] = (9, 31)
) -> list:
    """Draw the regions of one sample (for :func:`compose`): one or two
    regions of random kinds, each an object mask from ``objects`` (when
    given, half of the time) or a :func:`random_region`; or, one time in
    four when ``objects`` are given, a shallow depth of field: everything
    but one object defocused. Blur strengths are uniform in the ranges
    (pixels at the image's resolution)."""
    h, w = img_shape
    objects = [o for o in (objects or []) if o.mean() > 0.02]

    def params(kind):
        if kind == DEFOCUS:
            return float(rng.uniform(*defocus_sigma)), 0.
        return (float(rng.integers(motion_length[0], motion_length[1] + 1)),
                float(rng.uniform(0, 180)))

    if objects and rng.random() < 0.25:
        obj = objects[int(rng.integers(len(objects)))]
        return [(~obj, DEFOCUS, *params(DEFOCUS))]
    regions = []
    for kind in rng.permutation([MOTION, DEFOCUS])[:int(rng.integers(1, 3))]:
        if objects and rng.random() < 0.5:
            mask = objects[int(rng.integers(len(objects)))]
        else:
            mask = random_region(h, w, rng)
        regions.append((mask, int(kind), *params(kind)))
    return regions
