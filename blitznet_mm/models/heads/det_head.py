"""Detection branch of the BlitzNet head (paper Sec. 3.2-3.5, Fig. 2)."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import SSDHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils.global_batch import global_normaliser
from .hard_negative_mining import hard_negative_mask
from .postprocess import decode_boxes, detections_from_scores, flatten_levels


@MODELS.register_module()
class BlitzNetDetHead(SSDHead):
    """SSD-style detection branch: per level one 3x3 conv for box deltas
    (A*4 channels) and one for class scores (A*(C+1)), not shared.

    Derived from mmdet's ``SSDHead`` (targets, anchors, convs) with:

    - the BlitzNet anchors (``BlitzNetAnchorGenerator``);
    - losses as config keys (``loss_cls``, ``loss_bbox``) and hard-negative
      mining per image (mmdet) or over the batch (authors' code),
      ``train_cfg.hard_negative_mining = 'image' | 'batch'``; with N GPUs
      the batch is the global one (all N x ``batch_size`` images), so
      training on N GPUs with ``batch_size = 32 / N`` optimises the
      authors' batch-32 objective;
    - the paper's per-class post-processing (Sec. 3.5) when ``test_cfg`` has
      ``nms_pre_per_class``; otherwise mmdet's default (``nms_pre``) path;
    - anchors that follow each batch's input size (``batch_input_shape``)
      and the network's map sizes, nothing hand-written per variant;
    - the authors' initialisation: variance scaling, factor 0.1, fan-in,
      truncated normal (``init_cfg``), so initial class scores are near
      uniform and ``loss_cls`` starts near ``4 ln(C + 1)``;
    - ``self.loss_cls`` defined, which mmdet 3.3.0's ``SSDHead.predict``
      needs.

    Label convention (mmdet): foreground 0..C-1, background C.

    Args:
        num_classes (int): Foreground classes C.
        in_channels (Sequence[int]): Channels per level (512 each).
        anchor_generator (dict): Prior generator config.
        bbox_coder (dict): Box coder; SSD deltas with variances
            (0.1, 0.1, 0.2, 0.2).
        loss_cls (dict): Per-anchor classification loss, must support
            ``reduction_override='none'``. Softmax CE by default.
        loss_bbox (dict): Box regression loss (smooth L1, beta 1) averaged
            over positives.
        train_cfg (dict): ``assigner``, ``neg_pos_ratio`` (3),
            ``hard_negative_mining`` ('image' or 'batch': 3 x the
            positives of the global batch, over all processes; with 'batch'
            an image without boxes, e.g. a masks-only image, gives no
            negatives).
        test_cfg (dict): ``score_thr``, ``nms_pre_per_class``, ``nms``,
            ``max_per_class``, ``max_per_img``.
        init_cfg (dict): Initialisation config.
    """

    # what the head reads from train_cfg (mmdet's AnchorHead: assigner,
    # sampler, allowed_border, pos_weight); mmdet SSD's smoothl1_beta and
    # debug are read by nothing here and are refused
    TRAIN_CFG_KEYS = ('assigner', 'sampler', 'allowed_border', 'pos_weight',
                      'neg_pos_ratio', 'hard_negative_mining')

    def __init__(
        self,
        num_classes: int = 20,
        in_channels: Sequence[int] = (512, ) * 7,
        anchor_generator: ConfigType = dict(
            type='BlitzNetAnchorGenerator',
            scales=(.04, .10, .27, .44, .61, .78, .95)),
        bbox_coder: ConfigType = dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls: ConfigType = dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox: ConfigType = dict(
            type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
        train_cfg: Optional[ConfigType] = None,
        test_cfg: Optional[ConfigType] = None,
        init_cfg=dict(
            type='VarianceScaling',
            layer='Conv2d',
            factor=0.1,
            mode='fan_in',
            bias=0)
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            anchor_generator=anchor_generator,
            bbox_coder=bbox_coder,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        if train_cfg is not None:
            dead = sorted(set(train_cfg) - set(self.TRAIN_CFG_KEYS))
            if dead:
                raise ValueError(
                    f'{type(self).__name__}: train_cfg keys {dead} are read '
                    f'by nothing (it reads {list(self.TRAIN_CFG_KEYS)}; the '
                    "box loss's beta is loss_bbox.beta)")
            mining = train_cfg.get('hard_negative_mining', 'image')
            if mining not in ('image', 'batch'):
                raise ValueError("train_cfg.hard_negative_mining must be "
                                 f"'image' or 'batch', got {mining!r}")

    def _set_input_size(self, batch_img_metas: List[dict]) -> None:
        meta = batch_img_metas[0]
        self.prior_generator.set_input_size(
            meta.get('batch_input_shape', meta['img_shape'][:2]))

    def get_anchors(self, featmap_sizes, batch_img_metas, device='cuda'):
        """mmdet's anchors per image, for this batch's input size."""
        self._set_input_size(batch_img_metas)
        return super().get_anchors(featmap_sizes, batch_img_metas, device)

    def predict_by_feat(self,
                        cls_scores,
                        bbox_preds,
                        score_factors=None,
                        batch_img_metas=None,
                        cfg=None,
                        rescale=False,
                        with_nms=True) -> InstanceList:
        """mmdet's ``predict_by_feat`` with anchors for this batch's input
        size (see ``_predict_by_feat_single`` for the per-image steps)."""
        self._set_input_size(batch_img_metas)
        return super().predict_by_feat(
            cls_scores,
            bbox_preds,
            score_factors=score_factors,
            batch_img_metas=batch_img_metas,
            cfg=cfg,
            rescale=rescale,
            with_nms=with_nms)

    def dense_priors(self,
                     input_size: Tuple[int, int],
                     featmap_sizes: Sequence[Tuple[int, int]],
                     device='cpu') -> Tensor:
        """All anchors (A, 4), (x1, y1, x2, y2) in input pixels, for an
        input of ``input_size`` = (H, W) pixels, in the order of
        :func:`flatten_levels`."""
        self.prior_generator.set_input_size(tuple(input_size))
        return torch.cat(
            self.prior_generator.grid_priors(featmap_sizes, device=device))

    def predict_dense(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                      priors: Tensor,
                      input_size: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """Every anchor's class probabilities and decoded box, batched and
        free of data-dependent shapes: the end of the exported graph
        (``blitznet_mm.deployment``), before :func:`detections_from_scores`.

        Args:
            cls_scores, bbox_preds (list[Tensor]): per level
                (N, A_l*(C+1), H, W) and (N, A_l*4, H, W).
            priors (Tensor): (A, 4) from :meth:`dense_priors`.
            input_size (tuple[int, int]): (H, W) pixels; boxes are clipped
                to it.

        Returns:
            tuple[Tensor, Tensor]: scores (N, A, C) softmax probabilities of
            the foreground classes; boxes (N, A, 4) in input pixels.
        """
        n = cls_scores[0].shape[0]
        scores = flatten_levels(cls_scores, self.cls_out_channels)
        deltas = flatten_levels(bbox_preds, 4).reshape(-1, 4)
        # repeat, not expand + reshape: the copy an expanded (n, A, 4) needs
        # only for n > 1 would make torch.export guard on the batch size
        boxes = decode_boxes(self.bbox_coder, priors.repeat(n, 1), deltas,
                             tuple(input_size))
        return scores.softmax(-1)[..., :-1], boxes.reshape(n, -1, 4)

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        batch_gt_instances: InstanceList,
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: OptInstanceList = None
    ) -> Dict[str, Tensor]:
        """Softmax CE with 3:1 hard-negative mining + smooth L1 on positives,
        both divided by the number of positives in the batch (at least 1).

        Under data parallelism "the batch" is the global one: the positives
        are counted over all processes and the loss is scaled so that DDP's
        gradient average equals the gradient of one process holding every
        image (:func:`global_normaliser`); ``'batch'`` mining ranks the
        negatives of all processes.

        Args:
            cls_scores (list[Tensor]): per level (N, A*(C+1), H, W).
            bbox_preds (list[Tensor]): per level (N, A*4, H, W).
            batch_gt_instances (list[InstanceData]): ``bboxes`` (K, 4) in
                input pixels and ``labels`` (K,); K may be 0.
            batch_img_metas (list[dict]): image metas.

        Returns:
            dict[str, Tensor]: ``loss_cls`` and ``loss_bbox`` (scalars).
        """
        num_images = len(batch_img_metas)
        featmap_sizes = [s.shape[-2:] for s in cls_scores]
        anchor_list, valid_flag_list = self.get_anchors(
            featmap_sizes, batch_img_metas, device=cls_scores[0].device)
        (labels, label_weights, bbox_targets, bbox_weights,
         _) = self.get_targets(
             anchor_list,
             valid_flag_list,
             batch_gt_instances,
             batch_img_metas,
             batch_gt_instances_ignore=batch_gt_instances_ignore,
             unmap_outputs=True)
        labels = torch.cat(labels, -1).view(num_images, -1)
        label_weights = torch.cat(label_weights, -1).view(num_images, -1)
        bbox_targets = torch.cat(bbox_targets, -2).view(-1, 4)
        bbox_weights = torch.cat(bbox_weights, -2).view(-1, 4)
        # losses and mining in fp32 whatever the autocast policy (AMP)
        scores = flatten_levels(cls_scores, self.cls_out_channels).float()
        deltas = flatten_levels(bbox_preds, 4).reshape(-1, 4).float()

        loss_all = self.loss_cls(
            scores.view(-1, self.cls_out_channels),
            labels.view(-1),
            reduction_override='none').view(num_images, -1) * label_weights
        pos = (labels >= 0) & (labels < self.num_classes)
        neg = (labels == self.num_classes) & (label_weights > 0)
        # an image without boxes (masks only) must not lend its background
        # to the batch-wide negative budget
        has_gt = torch.tensor([len(g) > 0 for g in batch_gt_instances],
                              device=neg.device)
        neg &= has_gt[:, None]
        hard_neg = hard_negative_mask(
            loss_all,
            pos,
            neg,
            self.train_cfg.get('neg_pos_ratio', 3),
            per_image=self.train_cfg.get('hard_negative_mining',
                                         'image') == 'image')
        num_pos = global_normaliser(pos.sum())
        loss_cls = (loss_all * (pos | hard_neg)).sum() / num_pos

        if self.reg_decoded_bbox:
            anchors = torch.cat([torch.cat(a) for a in anchor_list])
            deltas = self.bbox_coder.decode(anchors, deltas)
        loss_bbox = self.loss_bbox(
            deltas, bbox_targets, bbox_weights, avg_factor=num_pos)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Tensor],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: ConfigType,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Boxes of one image: (x1, y1, x2, y2) in input pixels, or original
        image pixels when ``rescale``; ``scores`` and ``labels`` (K,)."""
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        if 'nms_pre_per_class' not in cfg or not with_nms:
            return super()._predict_by_feat_single(cls_score_list,
                                                   bbox_pred_list,
                                                   score_factor_list,
                                                   mlvl_priors, img_meta, cfg,
                                                   rescale, with_nms)
        scores = flatten_levels([s[None] for s in cls_score_list],
                                self.cls_out_channels)[0].softmax(-1)[:, :-1]
        deltas = flatten_levels([b[None] for b in bbox_pred_list], 4)[0]
        priors = torch.cat(mlvl_priors)

        def decode(idx: Tensor) -> Tensor:
            return self.bbox_coder.decode(
                priors[idx], deltas[idx], max_shape=img_meta['img_shape'])

        return detections_from_scores(scores, decode, img_meta, cfg, rescale)
