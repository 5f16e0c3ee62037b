"""Segmentation branch of the BlitzNet head (paper Sec. 3.3, Fig. 2).

Label convention (``blitznet_mm.structures.seg_labels``): K labels, those
of the dataset's segmentation set - with a background class (0 background,
class i of the set = i + 1; by default the set is the detection classes) or
without (class i = i) - and 255 ignored (void, unlabelled, or "this image
has no mask").
"""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from ...structures.seg_labels import IGNORE_INDEX, num_seg_classes
from ..utils.global_batch import global_normaliser
from ..utils.resize import bilinear_resize
from ..utils.upsample_argmax import upsample_argmax


def gt_sem_seg_batch(batch_data_samples: SampleList,
                     size: Tuple[int, int],
                     ignore_index: int = IGNORE_INDEX,
                     device=None) -> Tensor:
    """Stack the ground-truth masks of a batch, (N, H, W) long, on
    ``device`` (default: the first mask's, else the CPU).

    An image whose data sample carries no ``gt_sem_seg`` gets an all-ignore
    mask (never background: the authors' issue #31 bug), made on that
    device so that it stacks with masks already moved to a GPU.

    Raises:
        ValueError: if a mask's size differs from ``size`` (the padded input).
    """
    if device is None:
        device = next((ds.gt_sem_seg.sem_seg.device
                       for ds in batch_data_samples if 'gt_sem_seg' in ds),
                      torch.device('cpu'))
    masks = []
    for ds in batch_data_samples:
        if 'gt_sem_seg' not in ds:
            masks.append(
                torch.full(
                    size, ignore_index, dtype=torch.long, device=device))
            continue
        m = ds.gt_sem_seg.sem_seg.squeeze(0).long().to(device)
        if tuple(m.shape) != tuple(size):
            raise ValueError(
                f'gt_sem_seg of {ds.metainfo.get("img_path", "an image")} has '
                f'size {tuple(m.shape)}, the batch input is {tuple(size)}')
        masks.append(m)
    return torch.stack(masks)


#: pixel cross-entropy averaged over non-ignored pixels: a batch without any
#: mask gives exactly 0 (default of both segmentation branches)
LOSS_SEG = dict(
    type='CrossEntropyLoss',
    use_sigmoid=False,
    ignore_index=IGNORE_INDEX,
    avg_non_ignore=True,
    loss_weight=1.0)


class SegTaskMixin:
    """Loss and prediction of a segmentation branch with BlitzNet's
    mixed-annotation semantics, for any module whose ``forward(x)`` gives
    logits (N, K, h, w) from the neck levels ``x``: a missing mask is
    ignored (never background), the loss is taken at the logits' stride or
    the input's (``loss_at``), prediction is :func:`label_maps`.

    Needs ``ignore_index``, ``loss_at``, ``loss_seg`` and
    ``max_upsample_elements`` attributes.
    """

    def loss(self, x: Tuple[Tensor],
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Pixel CE over the non-ignored pixels of the global batch (all
        processes: :func:`global_normaliser`, so N GPUs optimise the
        one-GPU objective); ``loss_seg`` is 0 with no gradient to the logits
        when the batch has no mask."""
        logits = self(x)
        input_size = batch_data_samples[0].metainfo['batch_input_shape']
        gt = gt_sem_seg_batch(
            batch_data_samples,
            input_size,
            self.ignore_index,
            device=logits.device)
        if self.loss_at == 'logits':
            gt = F.interpolate(
                gt.unsqueeze(1).float(),
                size=logits.shape[-2:],
                mode='nearest').squeeze(1).long()
        else:
            logits = bilinear_resize(logits, gt.shape[-2:])
        valid = global_normaliser((gt != self.ignore_index).sum())
        return dict(
            loss_seg=self.loss_seg(
                logits.float(),
                gt,
                avg_factor=valid,
                ignore_index=self.ignore_index))

    def predict(self, x: Tuple[Tensor],
                batch_img_metas: List[dict]) -> List[Tensor]:
        """Label maps (H_ori, W_ori) long per image (paper Sec. 3.5)."""
        return self.predict_by_feat(self(x), batch_img_metas)

    def predict_by_feat(self, logits: Tensor,
                        batch_img_metas: List[dict]) -> List[Tensor]:
        """Logits (N, K, h, w) -> label maps (H_ori, W_ori) long: cropped
        to the valid (unpadded) input area, bilinearly resized to the
        original image size, argmax."""
        return label_maps(logits, batch_img_metas, self.max_upsample_elements)


@MODELS.register_module()
class BlitzNetSegHead(SegTaskMixin, BaseModule):
    """Per level a 1x1 conv to ``channels`` + ReLU, every level resized
    (nearest, as the authors' code) to the finest level, concatenated, and a
    3x3 conv to K logits: ``num_classes + 1`` with a background class (the
    paper's C + 1), ``num_classes`` without.

    Args:
        num_classes (int): Named segmentation classes (by default the
            detection classes; ``BlitzNet`` gives ``model.seg_num_classes``).
        background (bool): Label 0 is a background class (one more output).
            Defaults to True (BlitzNet's rule); ``BlitzNet`` gives
            ``model.seg_background``.
        in_channels (Sequence[int]): Channels of each neck level.
        channels (int): Per-level reduction width. Defaults to 64.
        ignore_index (int): Ignored label. Defaults to 255.
        loss_seg (dict): Pixel loss; mmdet's CrossEntropyLoss averaged over
            non-ignored pixels (a batch without masks gives exactly 0).
        loss_at (str): ``'logits'`` computes the loss at the logits' stride on
            a nearest-downsampled mask (authors' code); ``'input'`` upsamples
            the logits bilinearly to the input size instead.
        resize_mode (str): How coarse levels are brought to the finest
            level's size: ``'nearest'`` (authors' code) or ``'bilinear'``.
        max_upsample_elements (int): In ``predict``, most upsampled logits
            (classes x H x W) held at once; bigger images are upsampled a
            few classes at a time (same labels, bounded memory). Defaults to
            2**27 (512 MB in fp32).
        init_cfg (dict, optional): Initialisation config. Defaults to the
            authors' Xavier (Glorot) uniform, biases 0. From scratch (no
            ImageNet trunk) the configs use Kaiming instead; see
            docs/training_recipe.md, "Initialisation", for why the scale of
            the initial logits matters there.

    Inputs: tuple of (N, in_channels[k], h_k, w_k), finest first.
    Output of ``forward``: logits (N, K, h_0, w_0).
    """

    def __init__(
        self,
        num_classes: int = 20,
        background: bool = True,
        in_channels: Sequence[int] = (512, ) * 7,
        channels: int = 64,
        ignore_index: int = IGNORE_INDEX,
        loss_seg: ConfigType = LOSS_SEG,
        loss_at: str = 'logits',
        resize_mode: str = 'nearest',
        max_upsample_elements: int = 2**27,
        init_cfg: OptMultiConfig = dict(
            type='Xavier', layer='Conv2d', distribution='uniform', bias=0)
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if loss_at not in ('logits', 'input'):
            raise ValueError(f"loss_at must be 'logits' or 'input', "
                             f'got {loss_at!r}')
        if resize_mode not in ('nearest', 'bilinear'):
            raise ValueError(f"resize_mode must be 'nearest' or 'bilinear', "
                             f'got {resize_mode!r}')
        self.resize_mode = resize_mode
        self.num_classes = num_classes
        self.background = background
        self.ignore_index = ignore_index
        self.loss_at = loss_at
        self.max_upsample_elements = max_upsample_elements
        self.reduce = nn.ModuleList(
            ConvModule(c, channels, 1, act_cfg=dict(type='ReLU'))
            for c in in_channels)
        self.cls_seg = nn.Conv2d(
            channels * len(in_channels),
            num_seg_classes(num_classes, background),
            3,
            padding=1)
        self.loss_seg = MODELS.build(loss_seg)

    def forward(self, x: Tuple[Tensor]) -> Tensor:
        size = x[0].shape[-2:]
        resize = bilinear_resize if self.resize_mode == 'bilinear' else (
            lambda t, s: F.interpolate(t, size=s, mode='nearest'))
        feats = [
            resize(conv(f), size) if f.shape[-2:] != size else conv(f)
            for conv, f in zip(self.reduce, x)
        ]
        return self.cls_seg(torch.cat(feats, dim=1))


def label_maps(logits: Tensor,
               batch_img_metas: List[dict],
               max_elements: int = 2**27) -> List[Tensor]:
    """Logits (N, K, h, w) -> one (H_ori, W_ori) long label map per
    image: the valid (unpadded) part of the input, bilinearly resized to
    ``ori_shape``, argmax (paper Sec. 3.5).

    The one post-processing of both the PyTorch path and exported models
    (``BlitzNetBackendModel``). Metas need ``batch_input_shape``,
    ``img_shape`` and ``ori_shape``.
    """
    return [
        upsample_argmax(
            valid_logits(logit, meta), tuple(meta['ori_shape'][:2]),
            max_elements) for logit, meta in zip(logits, batch_img_metas)
    ]


def valid_logits(logit: Tensor, meta: dict) -> Tensor:
    """Logits (K, h, w) over the padded input -> (1, K, h', w'): the part
    over the image (``img_shape`` of ``batch_input_shape``) at the logits'
    stride; what :func:`label_maps` and the TTA merge upsample."""
    pad_h, pad_w = meta['batch_input_shape']
    img_h, img_w = meta['img_shape'][:2]
    h = max(1, round(logit.shape[-2] * img_h / pad_h))
    w = max(1, round(logit.shape[-1] * img_w / pad_w))
    return logit[None, :, :h, :w]
