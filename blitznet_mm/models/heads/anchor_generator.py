"""BlitzNet anchors (BLITZNET_SPEC.md Sec. 3).

Six anchors per location on every level: a square of side ``s_k``; aspect
ratios 2, 1/2, 3, 1/3 (``w = s*sqrt(r)``, ``h = s/sqrt(r)``); a square of side
``sqrt(s_k * s_{k+1})`` (``s_{K+1} = 1``). Centres at ``(i + 0.5) / m_k`` of
the image for a level of map size ``m_k``; anchors are not clipped.
"""
import math
from typing import List, Sequence

import torch
from mmdet.models.task_modules.prior_generators import AnchorGenerator
from mmdet.registry import TASK_UTILS
from torch import Tensor
from torch.nn.modules.utils import _pair


def blitznet_anchor_sides(scales: Sequence[float],
                          ratios: Sequence[float] = (2., 3.)
                          ) -> List[List[tuple]]:
    """Anchor ``(w, h)`` per level as fractions of the input size.

    Args:
        scales (Sequence[float]): ``s_k`` per level, fractions of the input.
        ratios (Sequence[float]): Aspect ratios r; each adds r and 1/r.

    Returns:
        list[list[tuple[float, float]]]: per level, ``2 + 2*len(ratios)``
        sides in the order: square ``s_k``, ``r_1``, ``1/r_1``, ...,
        square ``sqrt(s_k s_{k+1})``.
    """
    sides = []
    for k, s in enumerate(scales):
        s_next = scales[k + 1] if k + 1 < len(scales) else 1.0
        level = [(s, s)]
        for r in ratios:
            for rr in (r, 1. / r):
                level.append((s * math.sqrt(rr), s / math.sqrt(rr)))
        level.append((math.sqrt(s * s_next),) * 2)
        sides.append(level)
    return sides


@TASK_UTILS.register_module()
class BlitzNetAnchorGenerator(AnchorGenerator):
    """Anchor generator of BlitzNet, reusing mmdet's grid machinery.

    The stride of level k is ``input_size / featmap_sizes[k]`` (a float, e.g.
    300/38) with centre offset 0.5, which puts centres at
    ``(i + 0.5) * input_size / m_k`` pixels.

    Args:
        input_size (int): Network input side S in pixels (300 or 512).
        featmap_sizes (Sequence[int]): Map side ``m_k`` per level, finest
            first, e.g. (75, 38, 19, 10, 5, 3, 1) for BlitzNet300 s4.
        scales (Sequence[float]): ``s_k`` per level as fractions of S.
        ratios (Sequence[float]): Aspect ratios, each used as r and 1/r.
            Defaults to (2, 3).
        use_box_type (bool): Return ``HorizontalBoxes``. Defaults to False.

    Raises:
        ValueError: if ``featmap_sizes`` and ``scales`` differ in length.

    Anchors are (x1, y1, x2, y2) in input pixels; totals for the spec
    variants: 45,390 (300 s4), 11,640 (300 s8), 32,766 (512 s8), 131,070
    (512 s4).
    """

    def __init__(self,
                 input_size: int,
                 featmap_sizes: Sequence[int],
                 scales: Sequence[float],
                 ratios: Sequence[float] = (2., 3.),
                 use_box_type: bool = False) -> None:
        if len(featmap_sizes) != len(scales):
            raise ValueError(
                f'BlitzNetAnchorGenerator: {len(featmap_sizes)} featmap_sizes '
                f'but {len(scales)} scales')
        self.input_size = input_size
        self.featmap_sizes = tuple(featmap_sizes)
        self.anchor_scales = tuple(scales)
        self.anchor_ratios = tuple(ratios)
        self.strides = [_pair(input_size / m) for m in featmap_sizes]
        self.base_sizes = [s * input_size for s in scales]
        self.centers = None
        self.center_offset = 0.5
        self.use_box_type = use_box_type
        self.base_anchors = self.gen_base_anchors()

    def gen_base_anchors(self) -> List[Tensor]:
        """Anchors of the top-left location of every level, (A, 4) pixels."""
        base = []
        for (stride, _), level in zip(self.strides,
                                      blitznet_anchor_sides(
                                          self.anchor_scales,
                                          self.anchor_ratios)):
            c = stride * self.center_offset
            wh = torch.tensor(level) * self.input_size
            base.append(torch.cat([c - wh / 2, c + wh / 2], dim=1))
        return base

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'featmap_sizes={self.featmap_sizes}, '
                f'scales={self.anchor_scales}, ratios={self.anchor_ratios})')
