"""Value checks shared by the tests that run whole configs: predictions and
metrics that are not only present but plausible (finite, in range, at the
original image size)."""
import math
from typing import Mapping, Sequence

import torch

from ..structures.seg_labels import SegLabelSet


def check_predictions(preds: Sequence,
                      metainfo: Mapping,
                      where: str = '') -> None:
    """Assert that every prediction of ``preds`` (DetDataSample) is sane for
    a dataset with ``metainfo``: boxes (K, 4) finite with x1 <= x2, y1 <= y2;
    scores finite in [0, 1]; labels in 0..C-1 (C = ``len(classes)``); a
    label map (1, H, W) of the original image size with labels below the
    segmentation set's K (``SegLabelSet.from_metainfo``).

    Raises:
        AssertionError: naming ``where``, the image and the problem.
    """
    num_classes = len(metainfo.get('classes') or ())
    for p in preds:
        tag = f'{where} {p.metainfo.get("img_path", "")}'
        if 'pred_instances' in p:
            inst = p.pred_instances
            b, s, lab = inst.bboxes, inst.scores, inst.labels
            assert b.ndim == 2 and b.shape[1] == 4, (tag, b.shape)
            assert len(b) == len(s) == len(lab), tag
            assert torch.isfinite(b).all() and torch.isfinite(s).all(), tag
            assert (b[:, 2] >= b[:, 0]).all() and (b[:, 3] >= b[:, 1]).all(), \
                tag
            assert ((s >= 0) & (s <= 1)).all(), (tag, s.min(), s.max())
            assert ((lab >= 0) & (lab < num_classes)).all(), (tag, lab)
        if 'pred_sem_seg' in p:
            seg = p.pred_sem_seg.sem_seg
            assert tuple(seg.shape) == (1, ) + tuple(p.ori_shape[:2]), \
                (tag, tuple(seg.shape), p.ori_shape)
            k = SegLabelSet.from_metainfo(metainfo).num_outputs
            assert seg.min() >= 0 and seg.max() < k, (tag, seg.max(), k)


def check_metrics(metrics: Mapping[str, float], where: str = '') -> int:
    """Assert that evaluator outputs are in their ranges: ``sem_seg/*`` in
    [0, 100] (percent), ``coco/*`` and ``pascal_voc/*`` in [0, 1] (COCO's
    -1 means "no object of that size" and is allowed); summaries finite, a
    per-class value (``sem_seg/IoU.<class>``) NaN only for a class that no
    map holds (mmseg's). Returns how many values were checked.

    Raises:
        AssertionError: naming ``where``, the metric and its value.
    """
    checked = 0
    for key, v in metrics.items():
        name = key.split('/', 1)[-1] if key.startswith('val/') else key
        family = name.split('/')[0]
        if family not in ('sem_seg', 'coco', 'pascal_voc'):
            continue
        v = float(v)
        if math.isnan(v) and '.' in name.split('/')[-1]:
            continue  # a per-class IoU of a class in no map: mmseg's NaN
        assert math.isfinite(v), (where, key, v)
        if family == 'sem_seg':
            assert 0 <= v <= 100, (where, key, v)
        else:
            assert v == -1 or 0 <= v <= 1, (where, key, v)
        checked += 1
    return checked
