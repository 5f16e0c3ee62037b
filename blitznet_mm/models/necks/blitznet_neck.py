"""BlitzNet neck: downscale stream + ResSkip upscale stream
(paper Sec. 3.1-3.2, Fig. 2; docs/blitznet.md)."""
from typing import List, Sequence, Tuple

import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from .downscale import DownscaleBlock


@MODELS.register_module()
class BlitzNetNeck(BaseModule):
    """Downscale stream after the trunk, then an upscale stream of fusion
    blocks back to the finest output level, plus a global-pool 1x1 level.

    With trunk maps ``C2..C5`` and ``E1..En`` the extra (downscale) maps, the
    upscale stream starts from ``En`` and fuses, from coarse to fine, the skip
    maps ``E(n-1) .. E1, C5, C4, ...`` down to ``C(2 + finest_level)``. The
    outputs, finest first, are the fusion outputs followed by the global
    average of the first fusion block's shortcut ("pool6").

    ====================  =====  =============  ===========================
    variant               input  extra blocks   output map sizes
    ====================  =====  =============  ===========================
    BlitzNet300 s4        300    3              75 38 19 10 5 3 1
    BlitzNet300 s8        300    3              38 19 10 5 3 1
    BlitzNet512 s8        512    4              64 32 16 8 4 2 1
    BlitzNet512 s4        512    4              128 64 32 16 8 4 2 1
    ====================  =====  =============  ===========================

    Args:
        in_channels (Sequence[int]): Channels of the trunk maps C2..C5.
            Defaults to ResNet-50's (256, 512, 1024, 2048).
        num_extra_blocks (int): Downscale blocks after C5: 3 for 300, 4 for
            512.
        finest_level (int): Index into ``in_channels`` of the finest skip map:
            0 (C2, stride 4, "s4") or 1 (C3, stride 8, "s8").
        out_channels (int): Channels of every output level. Defaults to 512.
        extra_mid_channels (int): Bottleneck width of the downscale blocks.
        fusion_block (dict): Fusion block config: ``ResSkip`` (default),
            ``ResSkipNoResidual``, ``HourglassFusion`` or ``RefineFusion``;
            extra keys (e.g. ``mid_channels``) are passed on.
        style (str): Stride placement in the downscale bottlenecks,
            ``'caffe'`` (original) or ``'pytorch'``.
        with_global_pool (bool): Add the 1x1 "pool6" level. Defaults to True.
        norm_cfg (dict): Norm layer config for both streams (BN in the paper;
            SyncBN or GN also work).
        init_cfg (dict, optional): Initialisation config.

    Inputs: tuple of trunk maps ``(N, in_channels[i], H_i, W_i)``.
    Outputs: tuple of ``(N, out_channels, h_k, w_k)``, finest first.
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (256, 512, 1024, 2048),
        num_extra_blocks: int = 3,
        finest_level: int = 0,
        out_channels: int = 512,
        extra_mid_channels: int = 512,
        fusion_block: ConfigType = dict(type='ResSkip'),
        style: str = 'caffe',
        with_global_pool: bool = True,
        norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
        init_cfg: OptMultiConfig = dict(
            type='Kaiming', layer='Conv2d', distribution='uniform'),
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0 <= finest_level < len(in_channels):
            raise ValueError(f'finest_level={finest_level} is not an index '
                             f'of in_channels={tuple(in_channels)}')
        self.in_channels = tuple(in_channels)
        self.finest_level = finest_level
        self.with_global_pool = with_global_pool
        self.downscale = nn.ModuleList(
            DownscaleBlock(
                in_channels[-1],
                extra_mid_channels,
                style=style,
                norm_cfg=norm_cfg) for _ in range(num_extra_blocks))
        # channels of every map the upscale stream can fuse, fine to coarse
        skip_channels = list(in_channels) + [in_channels[-1]
                                             ] * num_extra_blocks
        self.upscale = nn.ModuleList()
        x_channels = skip_channels[-1]
        for skip_ch in reversed(skip_channels[finest_level:-1]):
            block = dict(fusion_block)
            block.update(
                in_channels=x_channels,
                skip_channels=skip_ch,
                out_channels=out_channels,
                norm_cfg=norm_cfg)
            self.upscale.append(MODELS.build(block))
            x_channels = out_channels

    @property
    def num_outs(self) -> int:
        return len(self.upscale) + int(self.with_global_pool)

    def forward(self, inputs: Tuple[Tensor]) -> Tuple[Tensor]:
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'BlitzNetNeck expects {len(self.in_channels)} '
                             f'trunk maps, got {len(inputs)}')
        maps: List[Tensor] = list(inputs)
        for block in self.downscale:
            maps.append(block(maps[-1]))
        x, outs, pooled = maps[-1], [], None
        for block, skip in zip(self.upscale,
                               reversed(maps[self.finest_level:-1])):
            x, shortcut = block(x, skip)
            if pooled is None and self.with_global_pool:
                # = adaptive_avg_pool2d(., 1), with a deterministic backward
                pooled = shortcut.mean((2, 3), keepdim=True)
            outs.append(x)
        outs.reverse()
        if pooled is not None:
            outs.append(pooled)
        return tuple(outs)
