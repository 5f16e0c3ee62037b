"""Any mmdet dense head as BlitzNet's detection branch: what differs between
heads is stated here, in one table, not in the detector (issue 21).

mmdet's dense heads share one contract (``BaseDenseHead``): ``forward(x)``
gives a tuple of per-level lists, ``loss(x, batch_data_samples)`` and
``predict_by_feat(*outs, batch_img_metas=..., rescale=...)``. What does
differ is

- which neck levels a head reads: all of them (RetinaNet, FCOS, ATSS,
  RTMDet, SSD), or, for a head that takes ``num_feat_levels`` maps of one
  stride (CornerNet's hourglass stacks), the finest ``num_feat_levels``;
- whether its ``in_channels`` is one int (one tower shared by the levels:
  mmdet's heads) or one per level (SSD's, BlitzNet's);
- who keeps an image without boxes (a masks-only image of BlitzNet's mixed
  annotations) out of the detection loss: BlitzNet's SSD head masks its
  negatives itself (batch-wide hard-negative mining); for every other head
  the image is left out of the head's loss here, so that its objects are
  never trained as background.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor, nn


@dataclass(frozen=True)
class HeadRule:
    """What a head family needs from the detector.

    Attributes:
        per_level_channels (bool): ``in_channels`` is a sequence, one per
            neck level (an int in a config is repeated for each level).
        levels_attr (str, optional): attribute naming how many of the
            finest levels the head reads; None: all levels.
        handles_boxless (bool): the head's own loss already gives an image
            without boxes no detection loss.
    """
    per_level_channels: bool = False
    levels_attr: Optional[str] = None
    handles_boxless: bool = False


#: class name -> rule, matched along the head's MRO (subclasses inherit);
#: a head found in none follows mmdet's ``BaseDenseHead`` contract
HEAD_RULES: Dict[str, HeadRule] = {
    # mmdet's SSD mines 3 negatives per positive of each image: none from
    # an image without boxes
    'SSDHead': HeadRule(per_level_channels=True, handles_boxless=True),
    # BlitzNet's batch-wide mining leaves such an image's negatives out
    'BlitzNetDetHead': HeadRule(per_level_channels=True, handles_boxless=True),
    'BlitzNetSegHead': HeadRule(per_level_channels=True),
    'BiSeNetSegHead': HeadRule(per_level_channels=True),
    'CornerHead': HeadRule(levels_attr='num_feat_levels'),
}
DEFAULT_RULE = HeadRule()


def head_rule(head) -> HeadRule:
    """The :data:`HEAD_RULES` entry of a head module, class or config
    (its ``type`` looked up in mmdet's registry)."""
    if isinstance(head, dict):
        cls = head['type'] if isinstance(head['type'], type) else \
            MODELS.get(head['type'])
        if cls is None:
            raise KeyError(f"{head['type']} is not in mmdet's registry")
    else:
        cls = head if isinstance(head, type) else type(head)
    for klass in cls.__mro__:
        if klass.__name__ in HEAD_RULES:
            return HEAD_RULES[klass.__name__]
    return DEFAULT_RULE


def neck_num_levels(neck: nn.Module) -> int:
    """Output levels of a neck: ``num_outs`` (FPN, BlitzNetNeck, PAFPN),
    else one per input (CSPNeXtPAFPN, YOLOXPAFPN).

    Raises:
        ValueError: naming the neck when it states neither.
    """
    if getattr(neck, 'num_outs', None) is not None:
        return int(neck.num_outs)
    if getattr(neck, 'in_channels', None) is not None:
        return len(neck.in_channels)
    raise ValueError(f'{type(neck).__name__}: cannot tell its number of '
                     'output levels (no num_outs or in_channels)')


def head_levels(head: nn.Module, x: Tuple[Tensor]) -> Tuple[Tensor]:
    """The neck levels ``head`` reads, finest first: all, or the finest
    ``head.<levels_attr>`` (CornerHead on BlitzNet's stride-4 level)."""
    attr = head_rule(head).levels_attr
    return tuple(x) if attr is None else tuple(x[:getattr(head, attr)])


def boxed_images(batch_data_samples: SampleList) -> List[int]:
    """Indices of the images that carry at least one (non-ignored) box."""
    return [
        i for i, ds in enumerate(batch_data_samples)
        if len(ds.gt_instances) > 0
    ]


def _zero_like(losses):
    """Every loss term times 0: the same keys (and per-level lists), no
    gradient, but the head's parameters stay in the graph (DDP)."""
    return {
        k: [t * 0 for t in v] if isinstance(v, (list, tuple)) else v * 0
        for k, v in losses.items()
    }


def det_loss(head: nn.Module, x: Tuple[Tensor],
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
    """The head's ``loss`` on the images that have boxes.

    An image without boxes (masks only) is left out, so a head that would
    train all its anchors or points as background (mmdet's dense heads)
    learns nothing from it; the head's own normalisers (positives,
    ``avg_factor``) then count the boxed images only. A batch without any
    box gives the head's loss terms times 0. Heads whose rule says
    ``handles_boxless`` get the whole batch.

    Args:
        x (tuple[Tensor]): neck levels, (N, C_k, H_k, W_k), finest first.
        batch_data_samples (list[DetDataSample]): ``gt_instances`` in
            input pixels.

    Returns:
        dict[str, Tensor | list[Tensor]]: the head's loss terms.
    """
    feats = head_levels(head, x)
    if head_rule(head).handles_boxless:
        return head.loss(feats, batch_data_samples)
    keep = boxed_images(batch_data_samples)
    if len(keep) == len(batch_data_samples):
        return head.loss(feats, batch_data_samples)
    if not keep:
        return _zero_like(head.loss(feats, batch_data_samples))
    index = torch.as_tensor(keep, device=feats[0].device)
    return head.loss(
        tuple(f.index_select(0, index) for f in feats),
        [batch_data_samples[i] for i in keep])


def det_forward(head: nn.Module, x: Tuple[Tensor]) -> tuple:
    """The head's raw outputs (a tuple of per-level lists) on its levels."""
    return head(head_levels(head, x))


def head_outputs(model: nn.Module, x: Tuple[Tensor]) -> Dict[str, Any]:
    """Every head's raw outputs on the neck levels ``x``: the one dispatch
    over heads, which ``BlitzNet.predict`` / ``_forward``, the export graph
    and ``make bench`` all call.

    Returns:
        dict in output order: ``'det'`` (the detection head's tuple of
        per-level lists, :func:`det_forward`) if the model has one,
        ``'seg'`` ((N, C, H/s, W/s) logits) if it segments, then each extra
        task's logits under its name (``model.seg_tasks``). A detector
        without ``with_seg`` / ``seg_tasks`` (mmdet's SSD in the benchmark)
        gives only ``'det'``.
    """
    outs = {}
    if getattr(model, 'with_bbox', False):
        outs['det'] = det_forward(model.bbox_head, x)
    if getattr(model, 'with_seg', False):
        outs['seg'] = model.seg_head(x)
    for task in getattr(model, 'seg_tasks', ()):
        outs[task.name] = model.task_heads[task.name](x)
    return outs


def _fp32(outs):
    return [[None if t is None else t.float() for t in level]
            for level in outs]


def det_predict_by_feat(head: nn.Module,
                        outs: Sequence,
                        batch_img_metas: List[dict],
                        rescale: bool = True) -> list:
    """``pred_instances`` per image from raw outputs, in fp32 whatever
    autocast policy produced them (scores near a tie rank as in fp32):
    ``head.predict_by_feat(*outs, ...)``, whatever the number of outputs
    (RetinaNet 2, FCOS/ATSS 3 with centerness, CornerNet 6)."""
    return head.predict_by_feat(
        *_fp32(outs), batch_img_metas=batch_img_metas, rescale=rescale)


def valid_input_region(meta: dict) -> Tuple[int, int, int, int]:
    """(y0, y1, x0, x1), input pixels: where the image lies in the padded
    network input.

    - ``border`` (mmdet's ``RandomCenterCropPad`` in test mode: the image
      centred in a larger canvas): that box;
    - else from the top-left corner, ``ori_shape`` x ``scale_factor``
      (a ``Pad`` in the test pipeline sets ``img_shape`` to the padded
      size; RTMDet's does), at most ``img_shape``.
    """
    if meta.get('border') is not None:
        y0, y1, x0, x1 = (int(round(float(v))) for v in meta['border'][:4])
        return y0, y1, x0, x1
    h, w = meta['img_shape'][:2]
    if meta.get('scale_factor') is not None and meta.get('ori_shape'):
        sw, sh = meta['scale_factor'][:2]
        oh, ow = meta['ori_shape'][:2]
        h, w = min(h, int(round(oh * sh))), min(w, int(round(ow * sw)))
    return 0, h, 0, w


def seg_label_maps(seg_head: nn.Module, logits: Tensor,
                   batch_img_metas: List[dict]) -> List[Tensor]:
    """Label maps (H_ori, W_ori) long per image from logits (N, K, h, w)
    over the padded input: each image's :func:`valid_input_region` is cut
    out at the logits' stride, then ``seg_head.predict_by_feat`` resizes it
    to the original image and takes the argmax."""
    out = []
    for logit, meta in zip(logits, batch_img_metas):
        pad_h, pad_w = meta['batch_input_shape']
        y0, y1, x0, x1 = valid_input_region(meta)
        sy, sx = logit.shape[-2] / pad_h, logit.shape[-1] / pad_w
        ly0, lx0 = int(round(y0 * sy)), int(round(x0 * sx))
        ly1 = max(ly0 + 1, int(round(y1 * sy)))
        lx1 = max(lx0 + 1, int(round(x1 * sx)))
        crop = logit[None, :, ly0:ly1, lx0:lx1]
        # the crop is the whole (unpadded) input of this image now
        region = (y1 - y0, x1 - x0)
        out += seg_head.predict_by_feat(
            crop, [dict(meta, batch_input_shape=region, img_shape=region)])
    return out
