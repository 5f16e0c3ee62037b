"""Bilinear resizing with a deterministic backward.

``F.interpolate(mode='bilinear')`` has no deterministic CUDA backward (it
accumulates with atomics), so ``randomness.deterministic=True`` (mmengine
calls ``torch.use_deterministic_algorithms(True)``) stops training at the
first backward. The same resize written as two products with interpolation
matrices has one: :func:`bilinear_resize` uses it while deterministic
algorithms are on, and ``F.interpolate`` otherwise (docs/reliability.md,
"Deterministic runs"). cuBLAS then needs ``CUBLAS_WORKSPACE_CONFIG``, which
``tools/train.py`` sets for deterministic runs.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def source_index(out_size: int,
                 in_size: int,
                 device=None,
                 dtype=torch.float32) -> Tuple[Tensor, Tensor, Tensor]:
    """1-D linear sampling with ``align_corners=False`` (PyTorch's and
    ``tf.image.resize_bilinear``'s half-pixel rule): output pixel i reads
    source coordinate ``max(0, (i + 0.5) * in / out - 0.5)``. Returns, per
    output pixel, its lower and upper source index (long, the upper one
    clamped to the border) and the upper one's weight (``dtype``; fp32 is
    what ``F.interpolate`` computes in for fp32 input)."""
    i = torch.arange(out_size, device=device, dtype=dtype)
    src = ((i + 0.5) * (in_size / out_size) - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=in_size - 1)
    i1 = (i0 + 1).clamp(max=in_size - 1)
    return i0, i1, src - i0


def interpolation_matrix(out_size: int,
                         in_size: int,
                         device=None,
                         dtype=torch.float32) -> Tensor:
    """(out_size, in_size) weights of 1-D linear interpolation with
    ``align_corners=False`` (:func:`source_index`, in fp64): each output
    pixel's two source neighbours weighted by distance. Rows sum to 1."""
    i0, i1, lam = source_index(out_size, in_size, device, torch.float64)
    w = torch.zeros(out_size, in_size, device=device, dtype=torch.float64)
    rows = torch.arange(out_size, device=device)
    w[rows, i0] += 1 - lam
    w[rows, i1] += lam
    return w.to(dtype)


def bilinear_resize_matmul(x: Tensor, size: Sequence[int]) -> Tensor:
    """``F.interpolate(x, size, mode='bilinear', align_corners=False)`` as
    ``W_h @ x @ W_w^T``: same values up to float rounding, and a backward made
    of matrix products (deterministic on CUDA).

    Args:
        x (Tensor): (N, C, h, w).
        size (tuple[int, int]): (H, W) output pixels.

    Returns:
        Tensor: (N, C, H, W), ``x``'s dtype and device.
    """
    h, w = x.shape[-2:]
    wh = interpolation_matrix(size[0], h, x.device, x.dtype)
    ww = interpolation_matrix(size[1], w, x.device, x.dtype)
    return torch.matmul(torch.matmul(wh, x), ww.t())


def bilinear_resize(x: Tensor, size: Sequence[int]) -> Tensor:
    """Bilinear resize of (N, C, h, w) to ``size`` = (H, W) pixels,
    align_corners=False; deterministic backward while
    ``torch.are_deterministic_algorithms_enabled()``."""
    size = tuple(int(s) for s in size)
    if torch.are_deterministic_algorithms_enabled() and x.requires_grad:
        return bilinear_resize_matmul(x, size)
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)
