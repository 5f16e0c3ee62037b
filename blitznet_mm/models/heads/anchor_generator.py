"""BlitzNet anchors (paper Sec. 3.2 and Table 7; docs/training_recipe.md).

Six anchors per location on every level: a square of side ``s_k``; aspect
ratios 2, 1/2, 3, 1/3 (``w = s*sqrt(r)``, ``h = s/sqrt(r)``); a square of side
``sqrt(s_k * s_{k+1})``, where the last level extrapolates one more scale
step, ``s_{K+1} = s_K + (s_K - s_{K-1})`` (1.12 for 300 s4, so its extra
square is 1.0315 of the input side), as the authors' code. Centres at
``(i + 0.5) / m_k`` of the image for a level of map size ``m_k``; anchors
are not clipped. Sides are fractions of the network input, so the anchors
follow the input size and map sizes the network actually has at run time.
"""
import math
from typing import List, Sequence, Tuple

import torch
from mmdet.models.task_modules.prior_generators import AnchorGenerator
from mmdet.registry import TASK_UTILS
from torch import Tensor


def next_scale(scales: Sequence[float]) -> float:
    """``s_{K+1}``: the last scale plus the last step (1.0 for one level)."""
    if len(scales) < 2:
        return 1.0
    return scales[-1] + (scales[-1] - scales[-2])


def blitznet_anchor_sides(
    scales: Sequence[float], ratios: Sequence[float] = (2., 3.)
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
    padded = list(scales) + [next_scale(scales)]
    for k, s in enumerate(scales):
        level = [(s, s)]
        for r in ratios:
            for rr in (r, 1. / r):
                level.append((s * math.sqrt(rr), s / math.sqrt(rr)))
        level.append((math.sqrt(s * padded[k + 1]), ) * 2)
        sides.append(level)
    return sides


@TASK_UTILS.register_module()
class BlitzNetAnchorGenerator(AnchorGenerator):
    """Anchor generator of BlitzNet, reusing mmdet's grid machinery.

    The stride of level k is ``input / m_k`` (a float, e.g. 300/38) with
    centre offset 0.5, which puts centres at ``(i + 0.5) * input / m_k``
    pixels. Input size and map sizes are not configured: the detection head
    sets the batch input size (:meth:`set_input_size`) and ``grid_priors``
    receives the map sizes of the network's outputs.

    Args:
        scales (Sequence[float]): ``s_k`` per level as fractions of the input
            side, finest level first.
        ratios (Sequence[float]): Aspect ratios, each used as r and 1/r.
            Defaults to (2, 3).
        input_size (int | tuple[int, int], optional): Initial input size
            (H, W) in pixels; the head replaces it with each batch's.
        use_box_type (bool): Return ``HorizontalBoxes``. Defaults to False.

    Raises:
        ValueError: if a scale is not in (0, 1].
        RuntimeError: in ``grid_priors`` before any input size is known.

    Anchors are (x1, y1, x2, y2) in input pixels; totals for the paper's
    variants: 45,390 (300 s4), 11,640 (300 s8), 32,766 (512 s8), 131,070
    (512 s4).
    """

    def __init__(self,
                 scales: Sequence[float],
                 ratios: Sequence[float] = (2., 3.),
                 input_size=None,
                 use_box_type: bool = False) -> None:
        if not all(0 < s <= 1 for s in scales):
            raise ValueError(f'anchor scales are fractions of the input in '
                             f'(0, 1], got {tuple(scales)}')
        self.anchor_scales = tuple(scales)
        self.anchor_ratios = tuple(ratios)
        self.center_offset = 0.5
        self.centers = None
        self.use_box_type = use_box_type
        self.strides = [(1., 1.)] * len(scales)
        self.input_size = None
        # anchors of a unit input until a size is known (num_base_priors)
        self.base_anchors = self.base_anchors_for((1, 1))
        if input_size is not None:
            self.set_input_size(input_size)

    def set_input_size(self, input_size) -> None:
        """Set the network input (H, W) in pixels (an int means square)."""
        if isinstance(input_size, int):
            input_size = (input_size, input_size)
        input_size = (int(input_size[0]), int(input_size[1]))
        if input_size != self.input_size:
            self.input_size = input_size
            self.base_anchors = self.base_anchors_for(input_size)

    def base_anchors_for(self, input_size: Tuple[int, int]) -> List[Tensor]:
        """Anchors of the top-left location of every level, (A, 4) pixels,
        for an input of ``input_size`` (H, W) pixels (mmdet's
        ``gen_base_anchors()`` takes no size: not overridden)."""
        img_h, img_w = input_size
        base = []
        # CPU constants by design: mmdet's grid_priors moves them to the
        # feature maps' device
        cpu = torch.device('cpu')
        for (sw, sh), level in zip(
                self.strides,
                blitznet_anchor_sides(self.anchor_scales, self.anchor_ratios)):
            c = torch.tensor([sw, sh], device=cpu) * self.center_offset
            wh = torch.tensor(
                level, device=cpu) * torch.tensor([img_w, img_h], device=cpu)
            base.append(torch.cat([c - wh / 2, c + wh / 2], dim=1))
        return base

    def grid_priors(self,
                    featmap_sizes: List[Tuple[int, int]],
                    dtype: torch.dtype = torch.float32,
                    device='cuda') -> List[Tensor]:
        """Anchors of every level, (m_k * m_k * A, 4) input pixels.

        Raises:
            ValueError: if the number of levels differs from ``scales``.
        """
        if self.input_size is None:
            raise RuntimeError('BlitzNetAnchorGenerator: no input size yet; '
                               'call set_input_size((H, W)) first')
        if len(featmap_sizes) != len(self.anchor_scales):
            raise ValueError(
                f'the network has {len(featmap_sizes)} prediction levels but '
                f'{len(self.anchor_scales)} anchor scales are configured')
        img_h, img_w = self.input_size
        strides = [(img_w / w, img_h / h)
                   for h, w in (tuple(s) for s in featmap_sizes)]
        if strides != self.strides:
            self.strides = strides
            self.base_anchors = self.base_anchors_for(self.input_size)
        return super().grid_priors(featmap_sizes, dtype, device)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scales={self.anchor_scales}, '
                f'ratios={self.anchor_ratios}, input_size={self.input_size})')
