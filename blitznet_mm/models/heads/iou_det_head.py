"""IoU-Net's localisation confidence on BlitzNet's detection branch (Jiang et
al., ECCV 2018, Sec. 3; docs/iou_net.md): a per-anchor IoU prediction and,
as a ``test_cfg`` option, the IoU-guided NMS (``iou_guided_nms.py``)."""
import copy
from typing import Dict, List, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ..utils.global_batch import global_normaliser
from .det_head import BlitzNetDetHead
from .iou_guided_nms import detections_from_iou_guided, nms_type
from .postprocess import flatten_levels


def split_box_iou(
        box_iou_preds: Sequence[Tensor],
        num_base_priors: Sequence[int]) -> Tuple[List[Tensor], List[Tensor]]:
    """Per level (N, A_l*4 + A_l, H, W) -> box deltas (N, A_l*4, H, W) and
    IoU logits (N, A_l, H, W).

    Raises:
        ValueError: when a level does not have A_l*5 channels (e.g. plain
            box deltas of ``BlitzNetDetHead`` given to ``IoUNetDetHead``).
    """
    boxes, ious = [], []
    for p, a in zip(box_iou_preds, num_base_priors):
        if p.shape[1] != 5 * a:
            raise ValueError(
                f'IoUNetDetHead: a level has {p.shape[1]} box channels, '
                f'expected {5 * a} ({a} anchors x 4 deltas, then {a} IoU '
                'logits): the output of IoUNetDetHead.forward')
        boxes.append(p[:, :4 * a])
        ious.append(p[:, 4 * a:])
    return boxes, ious


def predicted_box_iou(anchors: Tensor, deltas: Tensor, target_deltas: Tensor,
                      bbox_coder) -> Tensor:
    """IoU between each anchor's predicted box and its matched ground truth:
    the IoU branch's target (IoU-Net Sec. 3.1).

    Args:
        anchors (Tensor): (P, 4) (x1, y1, x2, y2) pixels.
        deltas (Tensor): (P, 4) predicted deltas (detach them: the target
            must not train the box branch).
        target_deltas (Tensor): (P, 4) the matched box encoded as deltas
            (``get_targets``); decoding them gives the ground-truth box.
        bbox_coder: the head's coder (``decode(anchors, deltas)``).

    Returns:
        Tensor: (P,) IoU in [0, 1].
    """
    pred = bbox_coder.decode(anchors, deltas)
    gt = bbox_coder.decode(anchors, target_deltas)
    return bbox_overlaps(pred, gt, is_aligned=True)


@MODELS.register_module()
class IoUNetDetHead(BlitzNetDetHead):
    """``BlitzNetDetHead`` with IoU-Net's IoU branch (Jiang et al.,
    ECCV 2018, Sec. 3.1): per level one more 3x3 conv, A_l channels (one
    IoU per anchor, class-agnostic like the box deltas), sigmoid at test
    time; and its IoU-guided NMS (Sec. 3.2, Algorithm 1) as a ``test_cfg``
    option.

    ``forward`` returns ``(cls_scores, box_iou_preds)``: each level of
    ``box_iou_preds`` is (N, A_l*4 + A_l, H, W), the box deltas in
    ``BlitzNetDetHead``'s layout followed by the A_l IoU logits. Carrying
    the IoU inside the second output keeps every caller of a detection head
    (``BlitzNet.predict``, ``ExportGraph``, the benchmark), which unpack
    two outputs, unchanged; this head's own methods split it
    (:func:`split_box_iou`).

    Training: the positives' IoU between the decoded predicted box (no
    gradient to the box branch) and the matched ground truth is the target
    of ``loss_iou``, normalised by the positives of the global batch as
    ``loss_cls`` / ``loss_bbox`` are. Binary cross-entropy on the logit with
    the IoU as a soft label by default: its gradient in the logit is
    ``sigmoid(z) - IoU``, which does not vanish when the sigmoid saturates,
    while smooth L1 on ``sigmoid(z)`` is damped by ``sigmoid'(z)``
    (docs/iou_net.md). A loss without ``use_sigmoid`` (e.g. ``SmoothL1Loss``)
    gets ``sigmoid(z)``.

    Testing: ``test_cfg.nms.type`` ``'nms'`` (default) is
    ``BlitzNetDetHead``'s post-processing, the IoU unused;
    ``'iou_guided'`` is IoU-Net's Algorithm 1 per class on the Sec. 3.5
    candidates.

    Args:
        loss_iou (dict): IoU loss; mmdet's ``CrossEntropyLoss`` with
            ``use_sigmoid=True`` by default.
        **kwargs: ``BlitzNetDetHead``'s arguments (``num_classes``,
            ``in_channels``, ``anchor_generator``, ``bbox_coder``,
            ``loss_cls``, ``loss_bbox``, ``train_cfg``, ``test_cfg``,
            ``init_cfg``); the IoU convs get ``init_cfg`` as the others.

    Raises:
        ValueError: on an unknown ``test_cfg.nms.type``, or 'iou_guided'
            without ``nms_pre_per_class`` (:func:`nms_type`).
    """

    def __init__(self,
                 loss_iou: ConfigType = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     loss_weight=1.0),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.loss_iou = MODELS.build(loss_iou)
        nms_type(self.test_cfg)  # refuse a bad test_cfg when built

    def _init_layers(self) -> None:
        super()._init_layers()
        self.iou_convs = nn.ModuleList(
            nn.Conv2d(c, a, 3, padding=1)
            for c, a in zip(self.in_channels, self.num_base_priors))

    def forward(self, x: Tuple[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Neck levels -> ``cls_scores`` (N, A_l*(C+1), H, W) and
        ``box_iou_preds`` (N, A_l*5, H, W) per level."""
        cls_scores, bbox_preds = super().forward(x)
        box_iou = [
            torch.cat([b, conv(f)], 1)
            for b, conv, f in zip(bbox_preds, self.iou_convs, x)
        ]
        return cls_scores, box_iou

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        batch_gt_instances: InstanceList,
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: OptInstanceList = None
    ) -> Dict[str, Tensor]:
        """``BlitzNetDetHead``'s ``loss_cls`` and ``loss_bbox`` plus
        ``loss_iou``; ``bbox_preds`` are the ``box_iou_preds`` of
        :meth:`forward`."""
        boxes, ious = split_box_iou(bbox_preds, self.num_base_priors)
        losses = super().loss_by_feat(cls_scores, boxes, batch_gt_instances,
                                      batch_img_metas,
                                      batch_gt_instances_ignore)
        losses['loss_iou'] = self.loss_iou_by_feat(boxes, ious,
                                                   batch_gt_instances,
                                                   batch_img_metas,
                                                   batch_gt_instances_ignore)
        return losses

    def loss_iou_by_feat(
            self,
            bbox_preds: List[Tensor],
            iou_preds: List[Tensor],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList = None) -> Tensor:
        """``loss_iou`` over the positive anchors, divided by the positives
        of the global batch (:func:`global_normaliser`, at least 1); 0 for a
        batch without boxes.

        The targets are assigned again (``get_targets``, as
        ``loss_by_feat`` does) so that ``BlitzNetDetHead`` stays unchanged;
        the assignment costs a few ms per image against the network's
        hundreds.

        Args:
            bbox_preds (list[Tensor]): per level (N, A_l*4, H, W).
            iou_preds (list[Tensor]): per level (N, A_l, H, W) logits.
        """
        featmap_sizes = [p.shape[-2:] for p in iou_preds]
        anchor_list, valid_flag_list = self.get_anchors(
            featmap_sizes, batch_img_metas, device=iou_preds[0].device)
        labels, _, bbox_targets, _, _ = self.get_targets(
            anchor_list,
            valid_flag_list,
            batch_gt_instances,
            batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore,
            unmap_outputs=True)
        labels = torch.cat(labels, -1).view(-1)
        bbox_targets = torch.cat(bbox_targets, -2).view(-1, 4)
        anchors = torch.cat([torch.cat(a) for a in anchor_list])
        pos = (labels >= 0) & (labels < self.num_classes)
        # fp32 whatever the autocast policy, as the other losses
        deltas = flatten_levels(bbox_preds, 4).reshape(-1, 4).float()
        logits = flatten_levels(iou_preds, 1).reshape(-1).float()
        with torch.no_grad():
            target = predicted_box_iou(anchors[pos], deltas[pos],
                                       bbox_targets[pos], self.bbox_coder)
        pred = logits[pos]
        if not getattr(self.loss_iou, 'use_sigmoid', False):
            pred = pred.sigmoid()
        return self.loss_iou(
            pred, target, avg_factor=global_normaliser(pos.sum()))

    def _guided(self, cfg, with_nms: bool = True) -> bool:
        return with_nms and nms_type(self.test_cfg if cfg is
                                     None else cfg) == 'iou_guided'

    def predict_by_feat(self,
                        cls_scores,
                        bbox_preds,
                        score_factors=None,
                        batch_img_metas=None,
                        cfg=None,
                        rescale=False,
                        with_nms=True) -> InstanceList:
        """Detections per image; ``bbox_preds`` are the ``box_iou_preds``
        of :meth:`forward`. The IoU maps travel as mmdet's
        ``score_factors`` only to the IoU-guided NMS: the standard path
        gets none, so its scores are not multiplied by them."""
        boxes, ious = split_box_iou(bbox_preds, self.num_base_priors)
        return super().predict_by_feat(
            cls_scores,
            boxes,
            score_factors=ious if self._guided(cfg, with_nms) else None,
            batch_img_metas=batch_img_metas,
            cfg=cfg,
            rescale=rescale,
            with_nms=with_nms)

    def _predict_by_feat_single(self,
                                cls_score_list,
                                bbox_pred_list,
                                score_factor_list,
                                mlvl_priors,
                                img_meta,
                                cfg,
                                rescale=False,
                                with_nms=True) -> InstanceData:
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        if score_factor_list[0] is None or not self._guided(cfg, with_nms):
            return super()._predict_by_feat_single(
                cls_score_list, bbox_pred_list, [None] * len(cls_score_list),
                mlvl_priors, img_meta, cfg, rescale, with_nms)
        scores = flatten_levels([s[None] for s in cls_score_list],
                                self.cls_out_channels)[0].softmax(-1)[:, :-1]
        deltas = flatten_levels([b[None] for b in bbox_pred_list], 4)[0]
        ious = flatten_levels([f[None] for f in score_factor_list],
                              1)[0, :, 0].sigmoid()
        priors = torch.cat(mlvl_priors)

        def decode(idx: Tensor) -> Tensor:
            return self.bbox_coder.decode(
                priors[idx], deltas[idx], max_shape=img_meta['img_shape'])

        return detections_from_iou_guided(scores, ious, decode, img_meta, cfg,
                                          rescale)

    def _refuse_export(self) -> None:
        if self._guided(None):
            raise NotImplementedError(
                "IoUNetDetHead with test_cfg.nms.type='iou_guided' cannot be "
                'exported: the exported graph carries scores and boxes only '
                '(blitznet_mm/deployment/graph.py), not the predicted IoU '
                'the IoU-guided NMS ranks by, so the exported model would '
                "run the standard NMS. Export with test_cfg.nms.type='nms' "
                'instead')

    def dense_priors(self,
                     input_size: Tuple[int, int],
                     featmap_sizes: Sequence[Tuple[int, int]],
                     device='cpu') -> Tensor:
        """``BlitzNetDetHead.dense_priors``; the start of an exported graph
        (``ExportGraph``), so it refuses the IoU-guided NMS as
        :meth:`predict_dense` does, before any tracing."""
        self._refuse_export()
        return super().dense_priors(input_size, featmap_sizes, device)

    def predict_dense(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                      priors: Tensor,
                      input_size: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """``BlitzNetDetHead.predict_dense`` on the box part of the packed
        maps: the exported graph (``blitznet_mm.deployment``) of a model
        post-processed with the standard NMS is the default head's.

        Raises:
            NotImplementedError: with ``test_cfg.nms.type='iou_guided'``:
                an exported graph's outputs are ``scores`` and ``boxes``
                (``OUTPUT_NAMES``), without the predicted IoU that this NMS
                ranks by.
        """
        self._refuse_export()
        boxes, _ = split_box_iou(bbox_preds, self.num_base_priors)
        return super().predict_dense(cls_scores, boxes, priors, input_size)
