"""Detection post-processing of BlitzNet (paper Sec. 3.5,
docs/blitznet.md "Inference"), built on mmcv's ``batched_nms``."""
from typing import Callable, Sequence, Tuple

import torch
from mmcv.ops import batched_nms
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
from mmdet.structures.bbox import scale_boxes
from mmengine.structures import InstanceData
from torch import Tensor


def flatten_levels(maps: Sequence[Tensor], channels: int) -> Tensor:
    """Per-level head maps (N, A*channels, H, W) -> (N, sum(H*W*A),
    channels), anchors ordered level, row, column, anchor (mmdet's prior
    order)."""
    return torch.cat([
        m.permute(0, 2, 3, 1).reshape(m.shape[0], -1, channels) for m in maps
    ], 1)


def decode_boxes(bbox_coder, priors: Tensor, deltas: Tensor,
                 max_shape: Tuple[int, int]) -> Tensor:
    """``bbox_coder.decode(priors, deltas, max_shape=max_shape)`` of (M, 4)
    rows, the same arithmetic inside a ``torch.onnx.export`` as outside it.

    mmdet 3.3's ``DeltaXYWHBBoxCoder.decode`` takes its ONNX branch while
    torch.onnx exports, which imports the removed ``mmdet.core``: torch's
    first capture (``torch.export``, non-strict) then fails, and the export
    falls back to a strict capture that costs ~12 s more per export (a
    BlitzNet300 at 160 x 160 on one CPU thread: 27 s against 15 s). For
    that exact coder this calls mmdet's ``delta2bbox`` with the coder's
    settings, as ``decode`` does for (M, 4) deltas outside an export; any
    other coder (or one returning box types) decodes itself.

    Args:
        bbox_coder: the head's mmdet box coder.
        priors (Tensor): (M, 4) anchors, (x1, y1, x2, y2) in input pixels.
        deltas (Tensor): (M, 4) predicted offsets.
        max_shape (tuple[int, int]): (H, W) pixels the boxes are clipped to.

    Returns:
        Tensor: (M, 4) boxes (x1, y1, x2, y2) in input pixels.
    """
    if type(bbox_coder) is DeltaXYWHBBoxCoder and not bbox_coder.use_box_type:
        return delta2bbox(priors, deltas, bbox_coder.means, bbox_coder.stds,
                          max_shape, 16 / 1000, bbox_coder.clip_border,
                          bbox_coder.add_ctr_clamp, bbox_coder.ctr_clamp)
    return bbox_coder.decode(priors, deltas, max_shape=max_shape)


def per_class_nms(scores: Tensor,
                  decode_fn,
                  score_thr: float = 0.01,
                  nms_pre_per_class: int = 400,
                  iou_threshold: float = 0.45,
                  max_per_class: int = 50,
                  max_per_img: int = 200,
                  split_thr: int = 1000) -> Tuple[Tensor, Tensor, Tensor]:
    """Per class: scores > thr, top ``nms_pre_per_class``, NMS, keep at most
    ``max_per_class``; then merge classes and keep the ``max_per_img`` best.

    Args:
        scores (Tensor): (A, C) foreground probabilities (softmax, background
            column removed).
        decode_fn (callable): maps a (K,) LongTensor of anchor indices to
            (K, 4) boxes (x1, y1, x2, y2); only selected anchors are decoded.
        score_thr, nms_pre_per_class, iou_threshold, max_per_class,
        max_per_img: the Sec. 3.5 settings (0.01, 400, 0.45, 50, 200).
        split_thr (int): mmcv's ``batched_nms`` runs one NMS over all
            classes up to this many boxes, one per class above it. A random
            or untrained model sends every class's 400 boxes (8,000 for VOC)
            to NMS: per class that is 6x faster, same boxes. Default 1000.

    Returns:
        tuple[Tensor, Tensor, Tensor]: boxes (K, 4), scores (K,), labels (K,)
        sorted by descending score, K <= max_per_img.
    """
    num_classes = scores.shape[1]
    # an anchor with no class above the threshold can never be kept; a
    # trained model scores most anchors as confident background, so this
    # shrinks the per-class top-k from all anchors to a few hundred
    cand = (scores > score_thr).any(1).nonzero().squeeze(1)
    k = min(nms_pre_per_class, cand.numel())
    top_scores, top_idx = scores[cand].t().topk(k, dim=1)  # (C, k)
    top_idx = cand[top_idx]
    keep = top_scores > score_thr
    labels = torch.arange(
        num_classes, device=scores.device)[:, None].expand(-1, k)[keep]
    cand_scores, cand_idx = top_scores[keep], top_idx[keep]
    if cand_scores.numel() == 0:
        empty = scores.new_zeros((0, ))
        return scores.new_zeros((0, 4)), empty, labels
    boxes = decode_fn(cand_idx)
    dets, kept = batched_nms(
        boxes, cand_scores, labels,
        dict(type='nms', iou_threshold=iou_threshold, split_thr=split_thr))
    labels = labels[kept]
    # rank of each kept box inside its class (dets are sorted by score)
    onehot = torch.nn.functional.one_hot(labels, num_classes)
    rank_in_class = (onehot.cumsum(0) * onehot).sum(1) - 1
    sel = (rank_in_class < max_per_class).nonzero().squeeze(1)[:max_per_img]
    return dets[sel, :4], dets[sel, 4], labels[sel]


def detections_from_scores(scores: Tensor,
                           decode_fn: Callable,
                           img_meta: dict,
                           cfg: dict,
                           rescale: bool = False) -> InstanceData:
    """The detections of one image from its per-anchor class probabilities:
    :func:`per_class_nms` with the ``test_cfg`` settings, then boxes scaled
    to the original image.

    The one post-processing of both the PyTorch path
    (``BlitzNetDetHead``) and exported models (``BlitzNetBackendModel``,
    whose graph ends with decoded boxes, so ``decode_fn`` only indexes).

    Args:
        scores (Tensor): (A, C) foreground probabilities.
        decode_fn (callable): (K,) anchor indices -> (K, 4) boxes
            (x1, y1, x2, y2) in input pixels.
        img_meta (dict): needs ``scale_factor`` (w, h) when ``rescale``.
        cfg (dict): ``score_thr``, ``nms_pre_per_class``, ``nms``
            (``iou_threshold``, ``split_thr``), ``max_per_class``,
            ``max_per_img``.
        rescale (bool): boxes in original image pixels instead of input
            pixels.

    Returns:
        InstanceData: ``bboxes`` (K, 4), ``scores`` (K,), ``labels`` (K,)
        by descending score.
    """
    nms = cfg.get('nms', {})
    bboxes, scores, labels = per_class_nms(
        scores,
        decode_fn,
        score_thr=cfg.get('score_thr', 0.01),
        nms_pre_per_class=cfg['nms_pre_per_class'],
        iou_threshold=nms.get('iou_threshold', 0.45),
        split_thr=nms.get('split_thr', 1000),
        max_per_class=cfg.get('max_per_class', 50),
        max_per_img=cfg.get('max_per_img', 200))
    if rescale:
        bboxes = scale_boxes(bboxes, [1 / s for s in img_meta['scale_factor']])
    results = InstanceData()
    results.bboxes, results.scores, results.labels = bboxes, scores, labels
    return results
