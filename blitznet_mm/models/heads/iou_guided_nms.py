"""IoU-guided NMS of IoU-Net (Jiang, Luo, Mao, Xiao, Jiang: "Acquisition of
Localization Confidence for Accurate Object Detection", ECCV 2018, Sec. 3.2,
Algorithm 1), as small pure functions beside BlitzNet's standard per-class
post-processing (``postprocess.py``, paper Sec. 3.5; docs/iou_net.md).

Algorithm 1, per class: repeat until no box is left - take the box b_m of
highest *predicted IoU* (localisation confidence), remove every remaining box
b_j with IoU(b_m, b_j) > threshold, and keep b_m with the highest
*classification* score among b_m and the boxes it removed.
"""
from typing import Callable, Tuple

import torch
from mmcv.ops import nms
from mmdet.structures.bbox import bbox_overlaps, scale_boxes
from mmengine.structures import InstanceData
from torch import Tensor

#: ``test_cfg.nms.type`` values: mmcv's NMS ranked by class score (BlitzNet,
#: the default) or Algorithm 1 ranked by predicted IoU
NMS_TYPES = ('nms', 'iou_guided')


def nms_type(test_cfg) -> str:
    """``test_cfg.nms.type`` ('nms' when absent).

    Raises:
        ValueError: on a type outside :data:`NMS_TYPES`, or 'iou_guided'
            without ``nms_pre_per_class`` (it is built on the Sec. 3.5
            candidate selection; mmdet's ``nms_pre`` path calls mmcv's
            ``batched_nms``, which has no such type).
    """
    cfg = test_cfg or {}
    kind = (cfg.get('nms') or {}).get('type', 'nms')
    if kind not in NMS_TYPES:
        raise ValueError(f'test_cfg.nms.type must be one of {NMS_TYPES}, '
                         f'got {kind!r}')
    if kind == 'iou_guided' and 'nms_pre_per_class' not in cfg:
        raise ValueError("test_cfg.nms.type='iou_guided' needs "
                         'test_cfg.nms_pre_per_class (the per-class '
                         'candidate selection of paper Sec. 3.5)')
    return kind


def iou_guided_nms(boxes: Tensor, scores: Tensor, ious: Tensor,
                   iou_threshold: float) -> Tuple[Tensor, Tensor]:
    """Algorithm 1 of IoU-Net on the boxes of one class.

    Args:
        boxes (Tensor): (K, 4) (x1, y1, x2, y2), pixels.
        scores (Tensor): (K,) classification confidences.
        ious (Tensor): (K,) predicted IoUs (localisation confidences) in
            [0, 1]; the ranking key.
        iou_threshold (float): a box is suppressed when its IoU with a kept
            box is strictly greater than this (mmcv's convention).

    Returns:
        tuple[Tensor, Tensor]: ``keep`` (M,) long indices into ``boxes``,
        by descending predicted IoU, and ``cluster_scores`` (M,): for each
        kept box the maximum classification score over itself and the
        boxes it suppressed.
    """
    if boxes.numel() == 0:
        return boxes.new_zeros((0, ), dtype=torch.long), scores.new_zeros(0)
    # the kept set of Algorithm 1 is greedy NMS with the predicted IoU as
    # the ranking key: mmcv's compiled NMS, not a Python loop
    _, keep = nms(boxes, ious, iou_threshold)
    # box j is removed by the first kept box (in ranking order) that
    # overlaps it above the threshold: any kept box ranked above j that
    # overlaps it would remove it when its turn came, and kept boxes never
    # overlap each other above the threshold, so each kept box is the first
    # of its own column
    overlap = bbox_overlaps(boxes[keep], boxes) > iou_threshold  # (M, K)
    overlap[torch.arange(len(keep), device=keep.device), keep] = True
    owner = overlap.to(torch.uint8).argmax(0)  # first True per column
    cluster = scores.new_full((len(keep), ), float('-inf')).scatter_reduce(
        0, owner, scores, reduce='amax')
    return keep, cluster


def per_class_iou_guided_nms(
        scores: Tensor,
        ious: Tensor,
        decode_fn: Callable,
        score_thr: float = 0.01,
        nms_pre_per_class: int = 400,
        iou_threshold: float = 0.45,
        max_per_class: int = 50,
        max_per_img: int = 200) -> Tuple[Tensor, Tensor, Tensor]:
    """BlitzNet's per-class post-processing (``per_class_nms``, paper
    Sec. 3.5) with :func:`iou_guided_nms` in place of NMS: per class the
    anchors scoring above ``score_thr``, the ``nms_pre_per_class`` best by
    class score, IoU-guided NMS, the ``max_per_class`` best by their
    cluster score; then the ``max_per_img`` best of all classes.

    Args:
        scores (Tensor): (A, C) foreground probabilities.
        ious (Tensor): (A,) predicted IoU of each anchor's decoded box
            (one per anchor, shared by the classes, as its box is).
        decode_fn (callable): (K,) anchor indices -> (K, 4) boxes.
        score_thr, nms_pre_per_class, iou_threshold, max_per_class,
        max_per_img: as ``per_class_nms``.

    Returns:
        tuple[Tensor, Tensor, Tensor]: boxes (K, 4), scores (K,) (cluster
        maxima), labels (K,), by descending score, K <= max_per_img.
    """
    out_boxes, out_scores, out_labels = [], [], []
    for c in range(scores.shape[1]):
        cand = (scores[:, c] > score_thr).nonzero().squeeze(1)
        if cand.numel() == 0:
            continue
        top = scores[cand, c].topk(min(nms_pre_per_class, cand.numel()))[1]
        idx = cand[top]
        boxes = decode_fn(idx)
        keep, cluster = iou_guided_nms(boxes, scores[idx, c], ious[idx],
                                       iou_threshold)
        best = cluster.topk(min(max_per_class, cluster.numel()))[1]
        out_boxes.append(boxes[keep[best]])
        out_scores.append(cluster[best])
        out_labels.append(torch.full_like(best, c))
    if not out_scores:
        return (scores.new_zeros((0, 4)), scores.new_zeros(
            (0, )), torch.zeros(0, dtype=torch.long, device=scores.device))
    all_scores = torch.cat(out_scores)
    order = all_scores.argsort(descending=True)[:max_per_img]
    return (torch.cat(out_boxes)[order], all_scores[order],
            torch.cat(out_labels)[order])


def detections_from_iou_guided(scores: Tensor,
                               ious: Tensor,
                               decode_fn: Callable,
                               img_meta: dict,
                               cfg: dict,
                               rescale: bool = False) -> InstanceData:
    """The detections of one image with the IoU-guided NMS: the counterpart
    of ``detections_from_scores`` (same ``test_cfg`` keys, boxes scaled to
    the original image when ``rescale``).

    Args:
        scores (Tensor): (A, C) foreground probabilities.
        ious (Tensor): (A,) predicted IoUs.
        decode_fn (callable): (K,) anchor indices -> (K, 4) boxes in input
            pixels.
        img_meta (dict): needs ``scale_factor`` (w, h) when ``rescale``.
        cfg (dict): ``score_thr``, ``nms_pre_per_class``, ``nms``
            (``iou_threshold``), ``max_per_class``, ``max_per_img``.

    Returns:
        InstanceData: ``bboxes`` (K, 4), ``scores`` (K,), ``labels`` (K,).
    """
    bboxes, det_scores, labels = per_class_iou_guided_nms(
        scores,
        ious,
        decode_fn,
        score_thr=cfg.get('score_thr', 0.01),
        nms_pre_per_class=cfg['nms_pre_per_class'],
        iou_threshold=cfg.get('nms', {}).get('iou_threshold', 0.45),
        max_per_class=cfg.get('max_per_class', 50),
        max_per_img=cfg.get('max_per_img', 200))
    if rescale:
        bboxes = scale_boxes(bboxes, [1 / s for s in img_meta['scale_factor']])
    results = InstanceData()
    results.bboxes, results.scores, results.labels = bboxes, det_scores, labels
    return results
