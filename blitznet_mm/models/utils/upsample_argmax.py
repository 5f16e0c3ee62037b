"""The label map of low-resolution logits: bilinear upsampling to the image,
then argmax over classes (paper Sec. 3.5), without upsampling every class.

Bilinear interpolation is, per output pixel, one convex combination of the
four source pixels around it, with the same weights for every class. So:

- where those four corners have the same argmax ``c``, the pixel's argmax
  is ``c`` (``c`` is at least every other class at each corner, hence in any
  convex combination; ties keep going to the lower class);
- elsewhere a class can only win if its largest corner value reaches the
  largest least corner value of any class over that source cell; the others
  are pruned, and only the few candidates left (2-4 on trained models) are
  interpolated.

The labels are the dense ``F.interpolate`` + argmax labels up to float
rounding at near-ties (values within ~1e-6). Measured on the 24-step test
model's COCO logits (81 classes, 75 x 75): 35-45 s -> 1-2 s for an 8000 x
6000 photo, 6-21 ms instead of 46-81 ms at 640 x 480 (docs/deployment.md,
"The label map since").
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .resize import source_index


def cell_candidates(logits: Tensor) -> Tuple[Tensor, Tensor]:
    """The classes that can be the argmax somewhere inside each source cell
    (pixel ``(y, x)`` and its right, lower and lower-right neighbours,
    clamped at the border), and their corner values.

    Args:
        logits (Tensor): (C, h, w).

    Returns:
        tuple[Tensor, Tensor]: ``classes`` (h*w, k) long, ascending per cell
        (padded by repeating the lowest), and ``corners`` (h*w, 4, k): the
        candidates' values at the four corners (top-left, top-right,
        bottom-left, bottom-right). k is the most candidates of any cell.
    """
    num_classes, h, w = logits.shape
    dev = logits.device
    yn = (torch.arange(h, device=dev) + 1).clamp(max=h - 1)
    xn = (torch.arange(w, device=dev) + 1).clamp(max=w - 1)
    corners = torch.stack(
        [logits, logits[:, :, xn], logits[:, yn], logits[:, yn][:, :, xn]])
    floor = corners.amin(0).amax(0)  # the best guaranteed value of a cell
    can_win = corners.amax(0) >= floor  # (C, h, w)
    k = int(can_win.sum(0).max())
    key = torch.where(can_win,
                      torch.arange(num_classes, device=dev)[:, None, None],
                      num_classes)
    classes = key.topk(k, 0, largest=False).values  # ascending
    classes = torch.where(classes == num_classes, classes[:1], classes)
    values = corners.gather(1, classes[None].expand(4, -1, -1, -1))
    return (classes.permute(1, 2, 0).reshape(h * w, k),
            values.permute(2, 3, 0, 1).reshape(h * w, 4, k).contiguous())


def dense_upsample_argmax(logits: Tensor,
                          size: Tuple[int, int],
                          max_elements: int = 2**27) -> Tensor:
    """``F.interpolate`` (bilinear, align_corners=False) of (1, C, h, w)
    logits to ``size`` = (H, W), argmax over C; at most ``max_elements``
    upsampled values at once (more classes are taken a few at a time with
    a running maximum; ties go to the lower class)."""
    num_classes = logits.shape[1]
    step = max(1, max_elements // max(1, size[0] * size[1]))
    if step >= num_classes:
        # channels-last: the argmax over classes reads contiguous memory
        up = F.interpolate(
            logits.contiguous(memory_format=torch.channels_last),
            size=size,
            mode='bilinear',
            align_corners=False)
        return up[0].argmax(dim=0)
    best = labels = None
    for c0 in range(0, num_classes, step):
        up = F.interpolate(
            logits[:, c0:c0 + step],
            size=size,
            mode='bilinear',
            align_corners=False)[0]
        val, idx = up.max(dim=0)
        if best is None:
            best, labels = val, idx + c0
        else:
            better = val > best  # strict: earlier classes win ties
            best = torch.where(better, val, best)
            labels = torch.where(better, idx + c0, labels)
    return labels


def upsample_argmax(logits: Tensor,
                    size: Tuple[int, int],
                    max_elements: int = 2**27) -> Tensor:
    """Bilinear resize (align_corners=False) of (1, C, h, w) logits to
    ``size`` = (H, W) pixels, then argmax over C: a (H, W) long label map,
    the dense result's labels (see the module docstring) without upsampling
    every class. Where a quarter of the classes or more stay candidates
    (near-uniform logits of an untrained model) it upsamples them all
    (:func:`dense_upsample_argmax`). ``max_elements`` bounds the values held
    at once (an 8000 x 6000 photo is done in row bands)."""
    size = (int(size[0]), int(size[1]))
    num_classes, h, w = logits.shape[1:]
    classes, corners = cell_candidates(logits[0])
    k = classes.shape[1]
    if 4 * k >= num_classes:
        return dense_upsample_argmax(logits, size, max_elements)
    dev = logits.device
    low = logits[0].argmax(0).to(torch.int32)
    y0, y1, wy = source_index(size[0], h, dev)
    x0, x1, wx = source_index(size[1], w, dev)
    out = torch.empty(size, dtype=torch.long, device=dev)
    band = max(1, min(size[0], max_elements // (16 * size[1])))
    for r in range(0, size[0], band):
        top, bottom = low[y0[r:r + band]], low[y1[r:r + band]]
        lab = top[:, x0]
        mixed = (lab != top[:, x1]) | (lab != bottom[:, x0]) | (
            lab != bottom[:, x1])
        yy, xx = mixed.nonzero(as_tuple=True)
        lab = lab.long()
        if yy.numel():
            cell = y0[r + yy] * w + x0[xx]
            v = corners.index_select(0, cell)  # (M, 4, k)
            fx, fy = wx[xx, None], wy[r + yy, None]
            upper = v[:, 0] + fx * (v[:, 1] - v[:, 0])
            lower = v[:, 2] + fx * (v[:, 3] - v[:, 2])
            best = (upper + fy * (lower - upper)).argmax(1, keepdim=True)
            lab[yy, xx] = classes.index_select(0, cell).gather(1, best)[:, 0]
        out[r:r + band] = lab
    return out
