"""Test-time augmentation of a joint model: boxes merged as mmdet's
``DetTTAModel`` (flipped back, pooled, NMS), label maps from the mean of
the views' class probabilities as mmseg's ``SegTaskMixin`` (flip undone
before averaging). docs/tools.md, "Test-time augmentation"."""
import copy
from contextlib import contextmanager
from typing import List

import torch.nn.functional as F
from mmdet.models.test_time_augs import DetTTAModel
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from torch import Tensor

from ..heads.seg_head import valid_logits


def merge_seg_probs(view_logits: List[Tensor], metas: List[dict]) -> Tensor:
    """Mean class probabilities of the views of one image -> label map.

    Args:
        view_logits (list[Tensor]): per view, the logits (K, h, w) over its
            input (``batch_input_shape``), as the segmentation head's
            ``predict_by_feat`` receives them.
        metas (list[dict]): per view, ``batch_input_shape``, ``img_shape``,
            ``ori_shape`` and ``flip`` / ``flip_direction``.

    Returns:
        Tensor: (H_ori, W_ori) long. Each view's valid part is resized
        bilinearly to ``ori_shape`` (as the plain prediction), softmaxed,
        flipped back, and the views averaged (mmseg's ``SegTTAModel``).
    """
    total = None
    for logit, meta in zip(view_logits, metas):
        up = F.interpolate(
            valid_logits(logit.float(), meta),
            size=tuple(meta['ori_shape'][:2]),
            mode='bilinear',
            align_corners=False)[0]
        probs = up.softmax(0)
        if meta.get('flip', False):
            direction = meta.get('flip_direction', 'horizontal')
            dims = {
                'horizontal': [2],
                'vertical': [1],
                'diagonal': [1, 2]
            }[direction]
            probs = probs.flip(dims)
        total = probs if total is None else total + probs
    return (total / len(view_logits)).argmax(0)


@contextmanager
def _recorded_seg_logits(head):
    """Records what the segmentation head's ``predict_by_feat`` receives
    (one image's logits per call in ``BlitzNet.predict``), on this instance
    only and for the duration of one view."""
    records = []
    predict_by_feat = head.predict_by_feat

    def record(logits, metas):
        records.extend(zip(logits.detach(), metas))
        return predict_by_feat(logits, metas)

    head.predict_by_feat = record
    try:
        yield records
    finally:
        del head.predict_by_feat


@MODELS.register_module()
class BlitzNetTTAModel(DetTTAModel):
    """Test-time augmentation (flip, multi-scale) of BlitzNet and of the
    joint mmdet-head models (docs/joint.md).

    Boxes: mmdet's ``DetTTAModel`` (each view's boxes flipped back to the
    original image, pooled, class-wise NMS with ``tta_cfg.nms``, then
    ``tta_cfg.max_per_img``). Label maps: :func:`merge_seg_probs`; a
    single view keeps its own label map (the argmax of one softmax is the
    argmax of its logits), so TTA with only the identity view equals the
    plain test.

    Args:
        module (dict): The model config (``cfg.model``).
        tta_cfg (dict): ``nms`` (mmcv's ``batched_nms`` config) and
            ``max_per_img``; the configs use the model's own test-time NMS.
        data_preprocessor (dict, optional): As ``BaseTTAModel``.
    """

    def __init__(self, tta_cfg: dict, **kwargs):
        # mmdet's merge reads tta_cfg.nms / tta_cfg.max_per_img
        super().__init__(tta_cfg=ConfigDict(tta_cfg), **kwargs)

    def test_step(self, data):
        """Every view through the model, its segmentation logits kept for
        the merge; then :meth:`merge_preds`."""
        if isinstance(data, dict):
            views = [{
                k: v[i]
                for k, v in data.items()
            } for i in range(len(data[next(iter(data))]))]
        else:
            views = [[d[i] for d in data] for i in range(len(data[0]))]
        preds, logits = [], []
        seg_head = getattr(self.module, 'seg_head', None)
        for view in views:
            if seg_head is None:
                preds.append(self.module.test_step(view))
                continue
            with _recorded_seg_logits(seg_head) as records:
                preds.append(self.module.test_step(view))
            logits.append(records)
        merged = self.merge_preds(list(zip(*preds)))
        if seg_head is not None and len(views) > 1:
            for i, ds in enumerate(merged):
                seg = merge_seg_probs([v[i][0] for v in logits],
                                      [v[i][1] for v in logits])
                ds.pred_sem_seg = PixelData(sem_seg=seg[None])
        return merged

    def _merge_single_sample(
            self, data_samples: List[DetDataSample]) -> DetDataSample:
        """mmdet's box merge on a copy (it writes into the first view)."""
        if 'pred_instances' not in data_samples[0]:
            return copy.copy(data_samples[0])
        return super()._merge_single_sample([copy.copy(data_samples[0])] +
                                            list(data_samples[1:]))
