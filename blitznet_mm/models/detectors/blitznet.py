"""The BlitzNet detector: one network, one forward pass, boxes and a
semantic mask (paper Sec. 3, Fig. 2)."""
from typing import Dict, Optional, Tuple, Union

import torch
from mmdet.models.detectors.base import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.logging import MessageHub
from mmengine.structures import PixelData
from torch import Tensor

from ..heads.mmseg_head import wrap_mmseg_head


def agree_num_classes(num_classes: Optional[int], **heads) -> tuple:
    """Give ``num_classes`` to every head config that lacks it, and check
    that all agree.

    Returns:
        tuple: the head configs (copies, in the order given) and C.

    Raises:
        ValueError: naming each head's class count when they disagree, or
            when none states one.
    """
    stated = {name: cfg['num_classes'] for name, cfg in heads.items()
              if cfg is not None and cfg.get('num_classes') is not None}
    if num_classes is not None:
        stated = dict(model=num_classes, **stated)
    if not stated:
        raise ValueError('BlitzNet: set model.num_classes (the number of '
                         'foreground classes)')
    if len(set(stated.values())) > 1:
        counts = ', '.join(f'{k}.num_classes={v}' for k, v in stated.items())
        raise ValueError(f'BlitzNet: the class counts disagree ({counts}); '
                         'state num_classes once, on the model')
    c = next(iter(stated.values()))
    out = tuple(None if cfg is None else dict(cfg, num_classes=c)
                for cfg in heads.values())
    return out + (c, )


def levels_from_neck(head: OptConfigType, neck) -> OptConfigType:
    """A head config whose ``in_channels`` is one int gets it for each of
    the neck's output levels; the anchor scales must match that count.

    Raises:
        ValueError: when the head's levels or anchor scales differ from the
            neck's outputs.
    """
    if head is None:
        return None
    levels = neck.num_outs
    head = dict(head)
    if isinstance(head.get('in_channels'), int):
        head['in_channels'] = (head['in_channels'], ) * levels
    if len(head.get('in_channels', ())) not in (0, levels):
        raise ValueError(f"{head['type']}: {len(head['in_channels'])} "
                         f'in_channels for a neck with {levels} levels')
    scales = head.get('anchor_generator', {}).get('scales')
    if scales is not None and len(scales) != levels:
        raise ValueError(f'{len(scales)} anchor scales for a neck with '
                         f'{levels} output levels (see the table in '
                         'BlitzNetNeck)')
    return head


@MODELS.register_module()
class BlitzNet(BaseDetector):
    """Backbone -> neck -> detection head and/or segmentation head.

    Either head may be ``None``: the detection-only and segmentation-only
    variants of paper Table 3 are config changes.

    Args:
        num_classes (int, optional): Foreground classes C, stated once and
            given to both heads (the segmentation head predicts C + 1
            with background). A head config may omit ``num_classes``.
        backbone (dict): Trunk, mmdet's ``ResNet`` (depth 50,
            ``out_indices=(0, 1, 2, 3)``).
        neck (dict): ``BlitzNetNeck``.
        bbox_head (dict, optional): ``BlitzNetDetHead``.
        seg_head (dict, optional): ``BlitzNetSegHead``, or an mmseg decode
            head (``type='mmseg.FCNHead'``, ...) which is run through
            ``MMSegDecodeHead``.
        train_cfg (dict, optional): Passed to the detection head.
        test_cfg (dict, optional): Passed to the detection head.
        data_preprocessor (dict, optional): mmdet's ``DetDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.

    Raises:
        ValueError: if both heads are ``None``, or the heads' class counts
            differ from each other or from ``num_classes``.

    ``predict`` fills ``pred_instances`` (``bboxes`` (K, 4) in original image
    pixels, ``scores``, ``labels``) and ``pred_sem_seg`` (``sem_seg``
    (1, H_ori, W_ori), 0 = background, c + 1 = class c).
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 num_classes: Optional[int] = None,
                 bbox_head: OptConfigType = None,
                 seg_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if bbox_head is None and seg_head is None:
            raise ValueError('BlitzNet needs a bbox_head, a seg_head or both')
        seg_head = wrap_mmseg_head(seg_head)  # 'mmseg.X' heads: an adapter
        bbox_head, seg_head, num_classes = agree_num_classes(
            num_classes, bbox_head=bbox_head, seg_head=seg_head)
        self.num_classes = num_classes
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        bbox_head, seg_head = (levels_from_neck(h, self.neck)
                               for h in (bbox_head, seg_head))
        if bbox_head is not None:
            bbox_head = dict(bbox_head, train_cfg=train_cfg,
                             test_cfg=test_cfg)
            self.bbox_head = MODELS.build(bbox_head)
        if seg_head is not None:
            self.seg_head = MODELS.build(seg_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    @property
    def with_seg(self) -> bool:
        return getattr(self, 'seg_head', None) is not None

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """(N, 3, S, S) -> neck levels, finest first."""
        return self.neck(self.backbone(batch_inputs))

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Total loss = seg + cls + loc (weights in the loss configs)."""
        x = self.extract_feat(batch_inputs)
        losses = {}
        if self.with_bbox:
            losses.update(self.bbox_head.loss(x, batch_data_samples))
        if self.with_seg:
            losses.update(self.seg_head.loss(x, batch_data_samples))
        return losses

    def parse_losses(self, losses: Dict[str, Tensor]
                     ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """mmengine's ``parse_losses``, refusing non-finite losses.

        It runs before every optimizer step (also under DDP), so a NaN/inf
        loss stops training before it reaches the weights or a checkpoint.

        Raises:
            FloatingPointError: naming the iteration and each non-finite
                loss term (e.g. ``loss_bbox=nan``).
        """
        loss, log_vars = super().parse_losses(losses)
        bad = {k: float(v) for k, v in log_vars.items()
               if not torch.isfinite(torch.as_tensor(v)).all()}
        if bad:
            it = MessageHub.get_current_instance().get_info('iter')
            where = f'iteration {it + 1}' if it is not None else 'training'
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise FloatingPointError(
                f'non-finite loss at {where}: {terms}. Training stopped '
                'before the optimizer step; the last checkpoint is intact. '
                'Lower the learning rate or check the data of this batch.')
        return loss, log_vars

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Boxes and label map per image.

        The network may run under reduced-precision autocast (the fast path,
        ``blitznet_mm.utils.fast_inference``); box decoding, NMS, mask
        upsampling and argmax always run in fp32 so that near-tied scores
        rank as they do in fp32.
        """
        x = self.extract_feat(batch_inputs)
        metas = [ds.metainfo for ds in batch_data_samples]
        head_outs = {}
        if self.with_bbox:
            head_outs['det'] = self.bbox_head(x)
        if self.with_seg:
            head_outs['seg'] = self.seg_head(x)
        with torch.autocast(batch_inputs.device.type, enabled=False):
            if self.with_bbox:
                cls_scores, bbox_preds = (
                    [t.float() for t in level] for level in head_outs['det'])
                results = self.bbox_head.predict_by_feat(
                    cls_scores, bbox_preds, batch_img_metas=metas,
                    rescale=rescale)
                for ds, res in zip(batch_data_samples, results):
                    ds.pred_instances = res
            if self.with_seg:
                segs = self.seg_head.predict_by_feat(
                    head_outs['seg'].float().contiguous(), metas)
                for ds, seg in zip(batch_data_samples, segs):
                    ds.pred_sem_seg = PixelData(sem_seg=seg[None])
        return batch_data_samples

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: Optional[SampleList] = None
                 ) -> Tuple[Union[Tensor, tuple], ...]:
        """Raw outputs: ``(cls_scores, bbox_preds)`` and/or seg logits."""
        x = self.extract_feat(batch_inputs)
        outs = ()
        if self.with_bbox:
            outs += (self.bbox_head.forward(x), )
        if self.with_seg:
            outs += (self.seg_head(x), )
        return outs
