"""Receptive Field Blocks (Liu, Huang, Wang: "Receptive Field Block Net for
Accurate and Fast Object Detection", ECCV 2018, Sec. 3 and Fig. 4) on
BlitzNet's output levels (docs/rfb.md)."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from mmengine.model import BaseModule
from torch import Tensor


def _branch(in_ch: int, mid: int, out: int, kernels: Sequence, rate: int,
            norm_cfg: ConfigType) -> nn.Sequential:
    """1x1 to ``mid``, then the ``kernels`` ((kh, kw) each, 'same' padding),
    then a 3x3 with dilation ``rate`` (no activation: the block's 1x1 fusion
    follows)."""
    layers = [ConvModule(in_ch, mid, 1, norm_cfg=norm_cfg)]
    ch = mid
    for kh, kw in kernels:
        layers.append(
            ConvModule(
                ch,
                mid, (kh, kw),
                padding=(kh // 2, kw // 2),
                norm_cfg=norm_cfg))
    layers.append(
        ConvModule(
            ch,
            out,
            3,
            padding=rate,
            dilation=rate,
            norm_cfg=norm_cfg,
            act_cfg=None))
    return nn.Sequential(*layers)


@MODELS.register_module()
class RFB(BaseModule):
    """The Receptive Field Block: branches of growing kernel size, each
    ending in a 3x3 convolution whose dilation grows with it (the paper's
    Fig. 4 a), concatenated, fused by a linear 1x1, scaled and added to a
    1x1 projection shortcut, then ReLU.

    ``small=False`` (RFB): 1x1 -> 3x3 rate 1; 1x1 -> 3x3 -> 3x3 rate 3;
    1x1 -> 3x3 -> 3x3 (a 5x5) -> 3x3 rate 5.
    ``small=True`` (RFB-s, Fig. 4 b, for shallow maps): 1x1 -> 3x3 rate 1;
    1x1 -> 1x3 -> 3x3 rate 3; 1x1 -> 3x1 -> 3x3 rate 3; 1x1 -> 3x3 -> 3x3
    rate 5, each branch a quarter of the width.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        small (bool): RFB-s instead of RFB.
        scale (float): Weight of the fused branches before the shortcut
            (the released RFB Net code: 1.0 where the block replaces a
            layer, 0.1 elsewhere).
        norm_cfg (dict): Norm layer config.
        init_cfg (dict, optional): Initialisation config.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 small: bool = False,
                 scale: float = 1.0,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.scale = scale
        if small:
            mid = max(1, in_channels // 4)
            specs = [((), 1), (((1, 3), ), 3), (((3, 1), ), 3),
                     (((3, 3), ), 5)]
        else:
            mid = max(1, in_channels // 8)
            specs = [((), 1), (((3, 3), ), 3), (((3, 3), (3, 3)), 5)]
        self.branches = nn.ModuleList(
            _branch(in_channels, mid, mid if small else 2 *
                    mid, k, r, norm_cfg) for k, r in specs)
        cat = sum(b[-1].conv.out_channels for b in self.branches)
        self.fuse = ConvModule(
            cat, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.shortcut = ConvModule(
            in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.fuse(torch.cat([b(x) for b in self.branches], 1))
        return self.relu(out * self.scale + self.shortcut(x))


@MODELS.register_module()
class RFBNeck(BaseModule):
    """A neck followed by RFB-s / RFB blocks on chosen output levels, where
    RFB Net puts them: RFB-s on the finest source map, RFB on the next
    ones, the coarsest maps unchanged.

    Args:
        neck (dict): The inner neck (``BlitzNetNeck``).
        small_levels (Sequence[int]): Output levels that get an RFB-s.
        levels (Sequence[int]): Output levels that get an RFB.
        channels (int): Channels of those levels (the neck's
            ``out_channels``).
        scale (float): ``RFB.scale``.
        norm_cfg (dict): Norm layer config of the blocks.
        init_cfg (dict, optional): Initialisation config.

    Raises:
        ValueError: on a level outside the neck's outputs or in both lists.
    """

    def __init__(
        self,
        neck: ConfigType,
        small_levels: Sequence[int] = (0, ),
        levels: Sequence[int] = (1, 2, 3),
        channels: int = 512,
        scale: float = 1.0,
        norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
        init_cfg=dict(type='Kaiming', layer='Conv2d', distribution='uniform')
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.neck = MODELS.build(neck)
        n = self.neck.num_outs
        both = set(small_levels) & set(levels)
        bad = [i for i in (*small_levels, *levels) if not 0 <= i < n]
        if both or bad:
            raise ValueError(f'RFBNeck: levels {sorted(both or bad)} are '
                             f'{"in both lists" if both else "not among"} '
                             f'the neck\'s {n} outputs')
        self.blocks = nn.ModuleDict({
            str(i):
            RFB(channels,
                channels,
                small=i in small_levels,
                scale=scale,
                norm_cfg=norm_cfg)
            for i in (*small_levels, *levels)
        })

    @property
    def num_outs(self) -> int:
        return self.neck.num_outs

    def forward(self, inputs: Tuple[Tensor]) -> Tuple[Tensor]:
        outs = self.neck(inputs)
        return tuple(self.blocks[str(i)](x) if str(i) in self.blocks else x
                     for i, x in enumerate(outs))
