"""Downscale stream of BlitzNet (paper Sec. 3.1, Fig. 2).

Extra blocks after C5 that keep halving the resolution. Each block is two
ResNet bottleneck units (mid 512, out 2048, mmdet's ``Bottleneck``); the
first unit has stride 2 and a parameter-free shortcut, a 1x1 max-pool of
stride 2 (a strided subsample), as in the authors' code.
"""
from typing import Optional

import torch.nn as nn
from mmdet.models.backbones.resnet import Bottleneck
from mmdet.utils import ConfigType
from mmengine.model import BaseModule


class DownscaleBlock(BaseModule):
    """One extra block of the downscale stream: ``(N, C, H, W) -> (N, C,
    ceil(H/2), ceil(W/2))``.

    Args:
        in_channels (int): Input (and output) channels, 2048 after C5.
        mid_channels (int): Bottleneck width. Defaults to 512.
        style (str): ``'caffe'`` puts the stride on the first 1x1 conv (the
            original), ``'pytorch'`` on the 3x3 conv.
        norm_cfg (dict): Norm layer config (BN, SyncBN, GN ...).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 mid_channels: int = 512,
                 style: str = 'caffe',
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[ConfigType] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mid_channels * Bottleneck.expansion != in_channels:
            raise ValueError(
                f'DownscaleBlock keeps its width: mid_channels*4 '
                f'({mid_channels * 4}) must equal in_channels ({in_channels})')
        self.units = nn.Sequential(
            Bottleneck(
                in_channels,
                mid_channels,
                stride=2,
                style=style,
                downsample=nn.MaxPool2d(kernel_size=1, stride=2),
                norm_cfg=norm_cfg),
            Bottleneck(
                in_channels,
                mid_channels,
                stride=1,
                style=style,
                norm_cfg=norm_cfg))

    def forward(self, x):
        return self.units(x)
