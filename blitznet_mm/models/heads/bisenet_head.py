"""BiSeNet's segmentation design (Yu, Wang, Peng, Gao, Yu, Sang: "BiSeNet:
Bilateral Segmentation Network for Real-time Semantic Segmentation",
ECCV 2018, Sec. 3, Fig. 2) as BlitzNet's segmentation branch, on mmseg's own
Attention Refinement and Feature Fusion Modules (docs/bisenet.md)."""
from typing import Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from ...structures.seg_labels import IGNORE_INDEX, num_seg_classes
from .seg_head import LOSS_SEG, SegTaskMixin


@MODELS.register_module()
class BiSeNetSegHead(SegTaskMixin, BaseModule):
    """Spatial path + context path + feature fusion (BiSeNet) on the neck's
    levels; loss and prediction are BlitzNet's (``SegTaskMixin``: an image
    without a mask is ignored, never background).

    - Spatial path (BiSeNet Sec. 3.1): ``len(spatial_channels)`` 3x3
      conv + BN + ReLU with ``spatial_strides``, from neck level
      ``spatial_level``. BiSeNet runs three stride-2 convs on the image
      (1/8 of it); a segmentation head of BlitzNet receives only the neck's
      levels (``BlitzNet``, ``ExportGraph`` and the benchmark call
      ``seg_head(levels)``), so the path starts from the finest level
      (stride 4, the trunk's C2 fused with the upscale stream) and one
      stride-2 conv brings it to BiSeNet's 1/8 (docs/bisenet.md).
    - Context path (Sec. 3.2): the neck's stride-16 and stride-32 levels
      (``context_levels``) play the fast-downsampling backbone's; each gets
      an ``AttentionRefinementModule``, the coarser one plus a global
      average pool -> 1x1 conv + BN + ReLU (the context path's tail),
      upsampled (nearest) and summed into the finer, each sum followed by a
      3x3 conv + BN + ReLU (mmseg's ``ContextPath`` wiring).
    - ``FeatureFusionModule`` (Sec. 3.3) of the spatial output and the
      context upsampled to its size; then a 3x3 conv + BN + ReLU,
      dropout and a 1x1 conv to K logits (mmseg's BiSeNetV1 decode
      head, an ``FCNHead`` with one conv).

    ``AttentionRefinementModule`` and ``FeatureFusionModule`` are imported
    from ``mmseg.models.backbones.bisenetv1``, not re-implemented.

    Args:
        num_classes (int): Named segmentation classes (as
            ``BlitzNetSegHead``; ``BlitzNet`` gives
            ``model.seg_num_classes``).
        background (bool): Label 0 is a background class (one more output,
            as ``BlitzNetSegHead``). Defaults to True.
        in_channels (Sequence[int]): Channels of each neck level.
        spatial_level (int): Neck level the spatial path starts from.
            Defaults to 0 (the finest).
        spatial_channels (Sequence[int]): Output channels of the spatial
            path's convs. Defaults to (64, 64, 128) (mmseg's BiSeNetV1).
        spatial_strides (Sequence[int]): Their strides. Defaults to
            (2, 1, 1): stride 4 -> 8.
        context_levels (tuple[int, int]): The stride-16 and stride-32 neck
            levels (BiSeNet's 1/16 and 1/32 maps). Defaults to (2, 3)
            (19 x 19 and 10 x 10 at 300 px).
        context_channels (int): Width of the context path after the ARMs.
            Defaults to 128.
        fusion_channels (int): ``FeatureFusionModule`` output width.
            Defaults to 256.
        channels (int): Width of the classifier's 3x3 conv. Defaults to 256.
        dropout_ratio (float): Dropout before the 1x1 classifier. Defaults
            to 0.1.
        norm_cfg (dict): Norm layers of the spatial and context paths, ARM
            and FFM. Defaults to BN.
        ignore_index (int): Ignored label. Defaults to 255.
        loss_seg (dict): Pixel loss (as ``BlitzNetSegHead``).
        loss_at (str): 'logits' (at the spatial path's stride, on a nearest
            downsampled mask) or 'input' (as ``BlitzNetSegHead``).
        max_upsample_elements (int): As ``BlitzNetSegHead``.
        init_cfg (dict, optional): Defaults to mmseg's: the ConvModules
            initialise themselves (Kaiming), the 1x1 classifier normal with
            std 0.01.

    Raises:
        ValueError: on a level outside ``in_channels``, context levels not
            coarse-to-fine ordered as (finer, coarser), spatial channels and
            strides of different lengths, or an unknown ``loss_at``.

    Inputs: tuple of (N, in_channels[k], h_k, w_k), finest first.
    Output of ``forward``: logits (N, K, h_s, w_s), K = C + 1 with
    background, at the spatial path's resolution (38 x 38 for
    BlitzNet300 s4).
    """

    def __init__(
        self,
        num_classes: int = 20,
        background: bool = True,
        in_channels: Sequence[int] = (512, ) * 7,
        spatial_level: int = 0,
        spatial_channels: Sequence[int] = (64, 64, 128),
        spatial_strides: Sequence[int] = (2, 1, 1),
        context_levels: Tuple[int, int] = (2, 3),
        context_channels: int = 128,
        fusion_channels: int = 256,
        channels: int = 256,
        dropout_ratio: float = 0.1,
        norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
        ignore_index: int = IGNORE_INDEX,
        loss_seg: ConfigType = LOSS_SEG,
        loss_at: str = 'logits',
        max_upsample_elements: int = 2**27,
        init_cfg: OptMultiConfig = dict(
            type='Normal', std=0.01, override=dict(name='cls_seg'))
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        # imported here: importing mmseg.models costs ~2 s, which every
        # `import blitznet_mm` would pay otherwise
        from mmseg.models.backbones.bisenetv1 import (
            AttentionRefinementModule, FeatureFusionModule)
        levels = len(in_channels)
        fine, coarse = context_levels
        if not all(0 <= i < levels for i in (spatial_level, fine, coarse)):
            raise ValueError(
                f'BiSeNetSegHead: spatial_level={spatial_level}, '
                f'context_levels={tuple(context_levels)} must index the '
                f'{levels} neck levels')
        if fine >= coarse:
            raise ValueError('BiSeNetSegHead: context_levels must be (finer, '
                             f'coarser) levels, got {tuple(context_levels)}')
        if len(spatial_channels) != len(spatial_strides):
            raise ValueError('BiSeNetSegHead: spatial_channels and '
                             'spatial_strides differ in length')
        if loss_at not in ('logits', 'input'):
            raise ValueError(f"loss_at must be 'logits' or 'input', "
                             f'got {loss_at!r}')
        self.num_classes = num_classes
        self.background = background
        self.ignore_index = ignore_index
        self.loss_at = loss_at
        self.max_upsample_elements = max_upsample_elements
        self.spatial_level = spatial_level
        self.context_levels = (fine, coarse)
        conv = dict(norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'))

        widths = (in_channels[spatial_level], *spatial_channels)
        self.spatial_path = nn.Sequential(
            *(ConvModule(i, o, 3, stride=s, padding=1, **conv)
              for i, o, s in zip(widths[:-1], widths[1:], spatial_strides)))
        self.arm16 = AttentionRefinementModule(
            in_channels[fine], context_channels, norm_cfg=norm_cfg)
        self.arm32 = AttentionRefinementModule(
            in_channels[coarse], context_channels, norm_cfg=norm_cfg)
        self.gap_conv = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvModule(in_channels[coarse], context_channels, 1, **conv))
        self.conv_head32 = ConvModule(
            context_channels, context_channels, 3, padding=1, **conv)
        self.conv_head16 = ConvModule(
            context_channels, context_channels, 3, padding=1, **conv)
        self.ffm = FeatureFusionModule(
            spatial_channels[-1] + context_channels,
            fusion_channels,
            norm_cfg=norm_cfg)
        self.conv_seg = ConvModule(
            fusion_channels, channels, 3, padding=1, **conv)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 \
            else nn.Identity()
        self.cls_seg = nn.Conv2d(channels,
                                 num_seg_classes(num_classes, background), 1)
        self.loss_seg = MODELS.build(loss_seg)

    def context(self, x16: Tensor, x32: Tensor, size) -> Tensor:
        """BiSeNet's context path on two neck levels -> (N,
        context_channels, *size)."""
        x32 = self.arm32(x32) + self.gap_conv(x32)
        x32 = self.conv_head32(
            F.interpolate(x32, size=x16.shape[-2:], mode='nearest'))
        x16 = self.arm16(x16) + x32
        return self.conv_head16(F.interpolate(x16, size=size, mode='nearest'))

    def forward(self, x: Tuple[Tensor]) -> Tensor:
        spatial = self.spatial_path(x[self.spatial_level])
        fine, coarse = self.context_levels
        ctx = self.context(x[fine], x[coarse], spatial.shape[-2:])
        return self.cls_seg(
            self.dropout(self.conv_seg(self.ffm(spatial, ctx))))
