"""DetNet-59 (Li et al., "DetNet: A Backbone network for Object
Detection", ECCV 2018, Sec. 3.2 and Fig. 2): ResNet-50's stages 1-4, then
two stages that keep stride 16 with dilated bottlenecks (docs/detnet.md)."""
from typing import Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from torch import Tensor


class DilatedBottleneck(nn.Module):
    """1x1 -> 3x3 (dilation ``dilation``, stride 1) -> 1x1, plus a shortcut:
    a 1x1 projection (DetNet Fig. 2 B, first block of a stage) or the
    identity (Fig. 2 A).

    Args:
        in_channels (int): Input channels.
        channels (int): Width of the 1x1 and 3x3 convolutions and the output
            channels (DetNet: 256).
        dilation (int): Dilation of the 3x3 convolution (DetNet: 2).
        projection (bool): 1x1 conv + norm shortcut instead of identity.
        norm_cfg (dict): Norm layer config.

    Shapes: (N, in_channels, H, W) -> (N, channels, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 dilation: int = 2,
                 projection: bool = False,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True)):
        super().__init__()
        if not projection and in_channels != channels:
            raise ValueError(f'an identity shortcut needs in_channels '
                             f'({in_channels}) == channels ({channels})')
        self.conv1 = ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg)
        self.conv2 = ConvModule(
            channels,
            channels,
            3,
            padding=dilation,
            dilation=dilation,
            norm_cfg=norm_cfg)
        self.conv3 = ConvModule(
            channels, channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.shortcut = ConvModule(
            in_channels, channels, 1, norm_cfg=norm_cfg,
            act_cfg=None) if projection else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv3(self.conv2(self.conv1(x)))
        return self.relu(out +
                         (x if self.shortcut is None else self.shortcut(x)))


@MODELS.register_module()
class DetNet(ResNet):
    """DetNet-59: mmdet's ResNet-50 up to res4 (stride 16; DetNet stages
    1-4), then stages 5 and 6, each a projection bottleneck and two identity
    bottlenecks with 3x3 dilation 2, stride 16 kept.

    The paper fixes the width of stages 5 and 6 at 256 channels (Sec. 3.2:
    fewer channels for the high-resolution stages, 4.8 GFLOPs vs
    ResNet-50's 3.8); some re-implementations use 1024. ``extra_channels``
    is the config key; 256 is the default, as in the paper.

    Args:
        depth (int): Depth of the ResNet part (50 for DetNet-59).
        extra_channels (int): Width and output channels of stages 5-6.
        extra_num_stages (int): Stride-16 stages after res4 (2).
        extra_num_blocks (int): Bottlenecks per extra stage (3).
        extra_dilation (int): Dilation of their 3x3 convolutions (2).
        out_indices (Sequence[int]): Outputs among (res2, res3, res4, stage5,
            stage6) = strides (4, 8, 16, 16, 16), channels (256, 512, 1024,
            extra_channels, extra_channels).
        norm_cfg (dict): Norm layer config (shared with the ResNet part).
        init_cfg (dict, optional): e.g. ``Pretrained`` with a ResNet-50
            checkpoint: ``conv1``, ``bn1``, ``layer1-3`` load by name; the
            checkpoint's ``layer4`` (res5) is not used, and stages 5-6
            (``extra_stages``) start fresh, as in the DetNet implementations.
        **kwargs: other mmdet ``ResNet`` arguments (``style``,
            ``frozen_stages``, ``norm_eval``, ...).

    Raises:
        ValueError: on an out index outside 0-4.
    """

    def __init__(self,
                 depth: int = 50,
                 extra_channels: int = 256,
                 extra_num_stages: int = 2,
                 extra_num_blocks: int = 3,
                 extra_dilation: int = 2,
                 out_indices: Sequence[int] = (0, 1, 2, 3, 4),
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 **kwargs) -> None:
        num_outs = 3 + extra_num_stages
        if not all(0 <= i < num_outs for i in out_indices):
            raise ValueError(f'out_indices {tuple(out_indices)}: DetNet has '
                             f'{num_outs} outputs (0-{num_outs - 1})')
        super().__init__(
            depth=depth,
            num_stages=3,
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            out_indices=(0, 1, 2),
            norm_cfg=norm_cfg,
            **kwargs)
        self.det_out_indices = tuple(out_indices)
        in_ch = self.block.expansion * 64 * 2**2  # res4: 1024 for ResNet-50
        stages = []
        for _ in range(extra_num_stages):
            stages.append(
                nn.Sequential(*[
                    DilatedBottleneck(
                        in_ch if b == 0 else extra_channels,
                        extra_channels,
                        extra_dilation,
                        projection=b == 0,
                        norm_cfg=norm_cfg) for b in range(extra_num_blocks)
                ]))
            in_ch = extra_channels
        self.extra_stages = nn.ModuleList(stages)

    def forward(self, x: Tensor) -> tuple:
        outs = list(super().forward(x))
        y = outs[-1]
        for stage in self.extra_stages:
            y = stage(y)
            outs.append(y)
        return tuple(outs[i] for i in self.det_out_indices)
