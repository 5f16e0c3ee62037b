"""Multi-label segmentation branch: overlapping masks (lane lines on a
road, a crosswalk on a lane), one sigmoid per class, binary cross-entropy,
a thresholded output (docs/multi_task.md).

Label convention: the ground truth of an image is (C, H, W), one binary
mask per class (1 = the class covers the pixel, 0 = it does not, 255 =
not scored); an image without a mask is all 255 (ignored, never
"absent")."""
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptMultiConfig
from torch import Tensor

from ...structures.seg_labels import IGNORE_INDEX
from ..utils.global_batch import global_normaliser
from ..utils.resize import bilinear_resize
from .seg_head import LOSS_SEG, BlitzNetSegHead

#: per-pixel, per-class binary cross-entropy averaged over the scored
#: (pixel, class) pairs; a batch without any mask gives exactly 0
LOSS_MULTI_LABEL = dict(LOSS_SEG, use_sigmoid=True)


def gt_multi_label_batch(batch_data_samples: SampleList,
                         num_classes: int,
                         size: Tuple[int, int],
                         ignore_index: int = IGNORE_INDEX,
                         device=None) -> Tensor:
    """Stack the (C, H, W) binary masks of a batch: (N, C, H, W) long.

    An image without ``gt_sem_seg`` gets all ``ignore_index``.

    Raises:
        ValueError: if a mask has another class count than ``num_classes``
            or another size than ``size`` (the padded input), naming the
            image.
    """
    device = device or torch.device('cpu')
    out = torch.full(
        (len(batch_data_samples), num_classes) + tuple(size),
        ignore_index,
        dtype=torch.long,
        device=device)
    for i, ds in enumerate(batch_data_samples):
        if 'gt_sem_seg' not in ds:
            continue
        m = ds.gt_sem_seg.sem_seg
        if m.shape[0] != num_classes or tuple(m.shape[1:]) != tuple(size):
            raise ValueError('multi-label mask of '
                             f'{ds.metainfo.get("img_path", "an image")}'
                             f' is {tuple(m.shape)}; expected ({num_classes}, '
                             f'{size[0]}, {size[1]}) (classes, padded input)')
        out[i] = m.to(device).long()
    return out


@MODELS.register_module()
class BlitzNetMultiLabelSegHead(BlitzNetSegHead):
    """``BlitzNetSegHead`` with one independent sigmoid per class: K =
    ``num_classes`` outputs (no background channel: "none of the classes"
    is all sigmoids below the threshold), binary cross-entropy per class,
    prediction ``sigmoid(logit) > threshold`` per class.

    Args:
        num_classes (int): Classes C (one output each).
        background (bool): Must be False (a multi-label set has no
            background class). Defaults to False.
        threshold (float): Probability above which a class is predicted.
            Defaults to 0.5.
        loss_seg (dict): Defaults to mmdet's sigmoid ``CrossEntropyLoss``
            averaged over the scored (pixel, class) pairs.
        **kwargs: ``BlitzNetSegHead`` arguments (``in_channels``,
            ``channels``, ``loss_at``, ``resize_mode``, ``init_cfg`` ...).

    Raises:
        ValueError: ``background=True``, or a threshold outside (0, 1).

    Output of ``predict_by_feat``: per image (C, H_ori, W_ori) long, 0/1.
    """

    def __init__(self,
                 num_classes: int = 1,
                 background: bool = False,
                 threshold: float = 0.5,
                 loss_seg: ConfigType = LOSS_MULTI_LABEL,
                 init_cfg: OptMultiConfig = dict(
                     type='Xavier',
                     layer='Conv2d',
                     distribution='uniform',
                     bias=0),
                 **kwargs) -> None:
        if background:
            raise ValueError('BlitzNetMultiLabelSegHead: a multi-label set '
                             'has no background class (background=False)')
        if not 0 < threshold < 1:
            raise ValueError(f'threshold must be in (0, 1), got {threshold}')
        super().__init__(
            num_classes=num_classes,
            background=False,
            loss_seg=loss_seg,
            init_cfg=init_cfg,
            **kwargs)
        self.threshold = threshold

    def loss(self, x: Tuple[Tensor],
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Mean BCE over the scored (pixel, class) pairs of the global
        batch (:func:`global_normaliser`); 0 without any mask."""
        logits = self(x)
        input_size = batch_data_samples[0].metainfo['batch_input_shape']
        gt = gt_multi_label_batch(
            batch_data_samples,
            self.num_classes,
            input_size,
            self.ignore_index,
            device=logits.device)
        if self.loss_at == 'logits':
            gt = F.interpolate(
                gt.float(), size=logits.shape[-2:], mode='nearest').long()
        else:
            logits = bilinear_resize(logits, gt.shape[-2:])
        valid = global_normaliser((gt != self.ignore_index).sum())
        return dict(
            loss_seg=self.loss_seg(
                logits.float(),
                gt,
                avg_factor=valid,
                ignore_index=self.ignore_index))

    def predict_by_feat(self, logits: Tensor,
                        batch_img_metas: List[dict]) -> List[Tensor]:
        """Logits (N, C, h, w) -> per image (C, H_ori, W_ori) long 0/1
        (:func:`multi_label_maps`)."""
        return multi_label_maps(logits, batch_img_metas, self.threshold)


def multi_label_maps(logits: Tensor,
                     batch_img_metas: List[dict],
                     threshold: float = 0.5) -> List[Tensor]:
    """Logits (N, C, h, w) over the padded input -> per image (C, H_ori,
    W_ori) long 0/1: the valid input area, bilinearly resized to
    ``ori_shape``, ``sigmoid > threshold`` (a logit above
    logit(threshold)). The one post-processing of the PyTorch path and of
    exported models."""
    cut = float(torch.logit(torch.tensor(float(threshold))))
    out = []
    for logit, meta in zip(logits, batch_img_metas):
        up = F.interpolate(
            crop_valid(logit, meta)[None],
            size=tuple(meta['ori_shape'][:2]),
            mode='bilinear',
            align_corners=False)[0]
        out.append((up > cut).long())
    return out


def crop_valid(logit: Tensor, meta: dict) -> Tensor:
    """(C, h, w) logits over the padded input -> the part over the image
    (``img_shape`` of ``batch_input_shape``), as ``label_maps`` cuts it."""
    pad_h, pad_w = meta['batch_input_shape']
    img_h, img_w = meta['img_shape'][:2]
    h = max(1, round(logit.shape[-2] * img_h / pad_h))
    w = max(1, round(logit.shape[-1] * img_w / pad_w))
    return logit[:, :h, :w]
