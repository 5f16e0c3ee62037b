"""Independent float64 references of BlitzNet's detection targets and losses,
written from the paper (Sec. 3.2-3.4) and the authors' formulas (SSD, Liu et
al. 2016, Sec. 2.2): for tests to compare the heads with, never imported by
the package itself.

Conventions: boxes (x1, y1, x2, y2) in input pixels, width = x2 - x1;
anchors flattened level by level, then row, column, anchor; class scores
(C + 1) per anchor with the background last (mmdet's order).
"""
import math
from typing import List, Sequence, Tuple

import numpy as np


def anchors(input_size: int,
            map_sizes: Sequence[int],
            scales: Sequence[float],
            ratios=(2., 3.)) -> np.ndarray:
    """Anchors (A, 4) of paper Sec. 3.2 on a square input of ``input_size``
    pixels: per location a square of side s_k, w = s sqrt(r), h = s / sqrt(r)
    for r and 1/r of each ratio, a square of side sqrt(s_k s_{k+1}) (the last
    level extrapolates s_{K+1} = 2 s_K - s_{K-1}; 1.0 for one level), centred
    at ((j + 0.5) / m, (i + 0.5) / m) of the input."""
    out = []
    nxt = list(scales[1:]) + [
        2 * scales[-1] - scales[-2] if len(scales) > 1 else 1.0
    ]
    for m, s, s1 in zip(map_sizes, scales, nxt):
        sides = [(s, s)]
        for r in ratios:
            for rr in (r, 1. / r):
                sides.append((s * math.sqrt(rr), s / math.sqrt(rr)))
        sides.append((math.sqrt(s * s1), ) * 2)
        for i in range(m):
            for j in range(m):
                cx, cy = (j + 0.5) / m, (i + 0.5) / m
                for w, h in sides:
                    out.append(
                        [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return np.asarray(out, np.float64) * input_size


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU (len(a), len(b)) of boxes in pixels."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None] - inter)


def match(anchor_boxes: np.ndarray,
          gt_boxes: np.ndarray,
          threshold: float = 0.5) -> np.ndarray:
    """Index of the ground truth each anchor is matched to, -1 for
    background: best IoU >= ``threshold``, and each ground truth's best
    anchor forced positive (a later box wins an anchor two boxes share)."""
    assigned = np.full(len(anchor_boxes), -1)
    if len(gt_boxes) == 0:
        return assigned
    overlaps = iou(anchor_boxes, gt_boxes)
    best = overlaps.max(1)
    assigned[best >= threshold] = overlaps.argmax(1)[best >= threshold]
    for k in range(len(gt_boxes)):
        assigned[overlaps[:, k].argmax()] = k
    return assigned


def encode(anchor_boxes: np.ndarray,
           gt_boxes: np.ndarray,
           variances=(0.1, 0.1, 0.2, 0.2)) -> np.ndarray:
    """SSD deltas (dx, dy, dw, dh) of ``gt_boxes`` from ``anchor_boxes``
    (same length): centre offsets over the anchor size and log size ratios,
    each divided by its variance."""
    a, g = np.asarray(anchor_boxes,
                      np.float64), np.asarray(gt_boxes, np.float64)
    aw, ah = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    gw, gh = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    d = np.stack([((g[:, 0] + g[:, 2]) - (a[:, 0] + a[:, 2])) / 2 / aw,
                  ((g[:, 1] + g[:, 3]) - (a[:, 1] + a[:, 3])) / 2 / ah,
                  np.log(gw / aw),
                  np.log(gh / ah)], 1)
    return d / np.asarray(variances)


def smooth_l1(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < beta, 0.5 * x * x / beta, x - 0.5 * beta)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Softmax CE per row of ``logits`` (..., K) for integer ``labels``."""
    z = np.asarray(logits, np.float64)
    zmax = z.max(-1, keepdims=True)
    lse = np.log(np.exp(z - zmax).sum(-1)) + zmax[..., 0]
    return lse - np.take_along_axis(z, labels[..., None], -1)[..., 0]


def ssd_losses(logits: np.ndarray,
               deltas: np.ndarray,
               anchor_boxes: np.ndarray,
               gts: List[Tuple[np.ndarray, np.ndarray]],
               per_image: bool,
               neg_pos_ratio: int = 3,
               variances=(0.1, 0.1, 0.2, 0.2)) -> dict:
    """loss_cls and loss_bbox of a batch (paper Sec. 3.4).

    Args:
        logits: (N, A, C + 1) class scores, background last.
        deltas: (N, A, 4) predicted SSD deltas.
        anchor_boxes: (A, 4).
        gts: per image (boxes (K, 4), labels (K,) in 0..C-1).
        per_image: mine ``ratio x positives`` negatives in each image (mmdet)
            or ``ratio x positives of the batch`` over the batch (authors'
            code; an image without boxes lends no negatives).

    Returns:
        dict: ``loss_cls`` = (sum of positive CE + sum of the selected hard
        negatives' CE) / N_pos, ``loss_bbox`` = sum of smooth L1 over the
        positives' 4 coordinates / N_pos (N_pos at least 1), and per image
        the ``assigned`` arrays and ``targets`` (positives' deltas).
    """
    n, _, k = logits.shape
    bg = k - 1
    labels, assigned_all, targets = [], [], []
    for boxes, cls in gts:
        assigned = match(anchor_boxes, boxes)
        lab = np.full(len(anchor_boxes), bg)
        lab[assigned >= 0] = cls[assigned[assigned >= 0]]
        labels.append(lab)
        assigned_all.append(assigned)
        t = np.zeros((len(anchor_boxes), 4))
        pos = assigned >= 0
        if pos.any():
            t[pos] = encode(anchor_boxes[pos], boxes[assigned[pos]], variances)
        targets.append(t)
    labels = np.stack(labels)
    ce = cross_entropy(logits, labels)
    pos = labels != bg
    cand = ~pos & np.array([len(b) > 0 for b, _ in gts])[:, None]
    selected = np.zeros_like(pos)
    if per_image:
        for i in range(n):
            idx = np.flatnonzero(cand[i])
            idx = idx[np.argsort(-ce[i, idx], kind='stable')]
            selected[i, idx[:neg_pos_ratio * pos[i].sum()]] = True
    else:
        idx = np.flatnonzero(cand.ravel())
        idx = idx[np.argsort(-ce.ravel()[idx], kind='stable')]
        flat = selected.ravel()
        flat[idx[:neg_pos_ratio * pos.sum()]] = True
        selected = flat.reshape(pos.shape)
    num_pos = max(int(pos.sum()), 1)
    box_loss = sum(
        smooth_l1(deltas[i][pos[i]] - targets[i][pos[i]]).sum()
        for i in range(n))
    return dict(
        loss_cls=(ce[pos].sum() + ce[selected].sum()) / num_pos,
        loss_bbox=box_loss / num_pos,
        assigned=assigned_all,
        targets=targets,
        selected=selected,
        labels=labels)


def seg_loss(logits: np.ndarray,
             gt: np.ndarray,
             ignore_index: int = 255) -> float:
    """Pixel CE at the logits' stride (paper Sec. 3.4; authors' code): the
    (N, H, W) mask sampled at the nearest pixel, row floor(i H / h), column
    floor(j W / w) of logit (i, j), averaged over non-ignored pixels (0 when
    there are none)."""
    n, _, h, w = logits.shape
    rows = (np.arange(h) * gt.shape[1]) // h
    cols = (np.arange(w) * gt.shape[2]) // w
    small = gt[:, rows][:, :, cols]
    valid = small != ignore_index
    if not valid.any():
        return 0.0
    z = np.moveaxis(np.asarray(logits, np.float64), 1, -1)
    return float(cross_entropy(z[valid], small[valid]).mean())
