"""Fusion blocks of the upscale stream (paper Fig. 3 and Table 8).

Every block takes the coarser map ``x`` (N, C_in, h, w) and the skip map of
the next finer size ``skip`` (N, C_skip, H, W) and returns ``(out, shortcut)``,
both (N, out_channels, H, W). ``shortcut`` is the projection of the upsampled
input; the neck pools the first block's shortcut into the extra 1x1 level
("pool6", docs/blitznet.md).

Table 8 of the paper (VOC07 mAP / VOC12-val mIoU): Hourglass-style 78.7/75.6,
Refine-style 78.0/76.1, ResSkip without residual 78.4/75.3, ResSkip 79.1/75.7.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from mmengine.model import BaseModule
from torch import Tensor

from ..utils.resize import bilinear_resize


def upsample_like(x: Tensor, ref: Tensor) -> Tensor:
    """Bilinear resize of ``x`` to the spatial size of ``ref``
    (align_corners=False, as the authors' ``tf.image.resize_bilinear``);
    deterministic backward in deterministic runs (:func:`bilinear_resize`)."""
    return bilinear_resize(x, ref.shape[-2:])


class BaseFusionBlock(BaseModule):
    """Shared constructor: the upsampled-input projection (identity when the
    input already has ``out_channels``).

    Args:
        in_channels (int): Channels of the coarser input map.
        skip_channels (int): Channels of the skip map.
        out_channels (int): Output channels. Defaults to 512.
        mid_channels (int): Width of the residual branch. Defaults to 128.
        norm_cfg (dict): Norm layer config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 skip_channels: int,
                 out_channels: int = 512,
                 mid_channels: int = 128,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.skip_channels = skip_channels
        self.out_channels = out_channels
        self.mid_channels = mid_channels
        self.norm_cfg = norm_cfg
        self.shortcut = None if in_channels == out_channels else ConvModule(
            in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def project(self, up: Tensor) -> Tensor:
        return up if self.shortcut is None else self.shortcut(up)

    def bottleneck(self, in_channels: int, last_act: bool):
        """1x1 (mid) -> 3x3 (mid) -> 1x1 (out), BN after each conv."""
        cfg = dict(norm_cfg=self.norm_cfg)
        return torch.nn.Sequential(
            ConvModule(in_channels, self.mid_channels, 1, **cfg),
            ConvModule(
                self.mid_channels, self.mid_channels, 3, padding=1, **cfg),
            ConvModule(
                self.mid_channels,
                self.out_channels,
                1,
                act_cfg=dict(type='ReLU') if last_act else None,
                **cfg))


@MODELS.register_module()
class ResSkip(BaseFusionBlock):
    """ResSkip block, BlitzNet's default (paper Fig. 3)::

        up  = bilinear(x, size(skip))
        out = ReLU(project(up) + bottleneck(concat[up, skip]))

    Args: see :class:`BaseFusionBlock`.
    """

    def __init__(self, in_channels: int, skip_channels: int, **kwargs):
        super().__init__(in_channels, skip_channels, **kwargs)
        self.residual = self.bottleneck(
            in_channels + skip_channels, last_act=False)

    def forward(self, x: Tensor, skip: Tensor) -> Tuple[Tensor, Tensor]:
        up = upsample_like(x, skip)
        short = self.project(up)
        res = self.residual(torch.cat([up, skip], dim=1))
        return F.relu(short + res), short


@MODELS.register_module()
class ResSkipNoResidual(BaseFusionBlock):
    """ResSkip without the residual connection (paper Table 8)::

        out = ReLU(bottleneck(concat[up, skip]))

    The projection of ``up`` is still computed for the pooled 1x1 level of the
    neck but is not added to ``out``.

    Args: see :class:`BaseFusionBlock`.
    """

    def __init__(self, in_channels: int, skip_channels: int, **kwargs):
        super().__init__(in_channels, skip_channels, **kwargs)
        self.fuse = self.bottleneck(in_channels + skip_channels, last_act=True)

    def forward(self, x: Tensor, skip: Tensor) -> Tuple[Tensor, Tensor]:
        up = upsample_like(x, skip)
        return self.fuse(torch.cat([up, skip], dim=1)), self.project(up)


@MODELS.register_module()
class HourglassFusion(BaseFusionBlock):
    """Hourglass-style fusion (Newell et al. 2016; paper Table 8): the skip
    map goes through its own residual module and is added to the upsampled
    coarse map::

        out = ReLU(project(up) + bottleneck(skip))

    Args: see :class:`BaseFusionBlock`.
    """

    def __init__(self, in_channels: int, skip_channels: int, **kwargs):
        super().__init__(in_channels, skip_channels, **kwargs)
        self.skip_branch = self.bottleneck(skip_channels, last_act=False)

    def forward(self, x: Tensor, skip: Tensor) -> Tuple[Tensor, Tensor]:
        up = upsample_like(x, skip)
        short = self.project(up)
        return F.relu(short + self.skip_branch(skip)), short


@MODELS.register_module()
class RefineFusion(BaseFusionBlock):
    """Refine-style fusion (SharpMask refinement module, Pinheiro et al.
    2016; paper Table 8): the skip map is reduced by a 3x3 conv, concatenated
    with the projected coarse map and merged by a 3x3 conv::

        out = ReLU(BN(conv3x3(concat[project(up), ReLU(BN(conv3x3(skip)))])))

    Args: see :class:`BaseFusionBlock`.
    """

    def __init__(self, in_channels: int, skip_channels: int, **kwargs):
        super().__init__(in_channels, skip_channels, **kwargs)
        self.skip_conv = ConvModule(
            skip_channels,
            self.mid_channels,
            3,
            padding=1,
            norm_cfg=self.norm_cfg)
        self.merge = ConvModule(
            self.out_channels + self.mid_channels,
            self.out_channels,
            3,
            padding=1,
            norm_cfg=self.norm_cfg)

    def forward(self, x: Tensor, skip: Tensor) -> Tuple[Tensor, Tensor]:
        up = upsample_like(x, skip)
        short = self.project(up)
        out = self.merge(torch.cat([short, self.skip_conv(skip)], dim=1))
        return out, short
