"""The BlitzNet detector: one network, one forward pass, boxes and a
semantic mask (paper Sec. 3, Fig. 2)."""
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmdet.models.detectors.base import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.logging import MessageHub
from mmengine.structures import PixelData
from torch import Tensor

from ...structures.seg_labels import IGNORE_INDEX, num_seg_classes
from ..heads.mmseg_head import wrap_mmseg_head
from .class_sets import (agree_ignore_index, agree_num_classes,
                         agree_seg_classes)
from .dense_head_adapter import (det_loss, det_predict_by_feat, head_outputs,
                                 head_rule, neck_num_levels, seg_label_maps)
from .seg_tasks import (check_task_outputs, parse_seg_tasks, task_losses,
                        task_predictions, task_samples)

__all__ = [
    'BlitzNet', 'agree_ignore_index', 'agree_num_classes', 'agree_seg_classes',
    'levels_from_neck'
]


def levels_from_neck(head: OptConfigType, neck) -> OptConfigType:
    """A head config whose ``in_channels`` is one int gets it for each of
    the neck's output levels when the head takes one per level (BlitzNet's
    and SSD's heads; mmdet's shared-tower heads keep the int:
    ``dense_head_adapter.HEAD_RULES``); BlitzNet's anchor scales must match
    that count.

    Raises:
        ValueError: when the head's levels or anchor scales differ from the
            neck's outputs.
    """
    if head is None:
        return None
    levels = neck_num_levels(neck)
    head = dict(head)
    if not head_rule(head).per_level_channels:
        return head
    if isinstance(head.get('in_channels'), int):
        head['in_channels'] = (head['in_channels'], ) * levels
    if len(head.get('in_channels', ())) not in (0, levels):
        raise ValueError(f"{head['type']}: {len(head['in_channels'])} "
                         f'in_channels for a neck with {levels} levels')
    anchors = head.get('anchor_generator', {})
    # mmdet's AnchorGenerator's `scales` are per-level multipliers, not
    # one per level: only BlitzNet's are checked
    scales = anchors.get('scales') if anchors.get('type') == \
        'BlitzNetAnchorGenerator' else None
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
        num_classes (int, optional): Detection classes C, stated once and
            given to the detection head. A head config may omit
            ``num_classes``.
        seg_num_classes (int, optional): Named segmentation classes, stated
            once and given to the segmentation head; the dataset's
            ``seg_classes`` must have as many (``TaskSettingsCheckHook``).
            Defaults to ``num_classes``: BlitzNet's rule, the detection
            classes painted with background (C + 1 outputs).
        seg_background (bool, optional): Whether segmentation label 0 is a
            background class (K = seg_num_classes + 1) or not (K =
            seg_num_classes: COCO-Stuff, panoptic). Defaults to True.
        backbone (dict): Trunk, mmdet's ``ResNet`` (depth 50,
            ``out_indices=(0, 1, 2, 3)``).
        neck (dict): ``BlitzNetNeck``.
        bbox_head (dict, optional): ``BlitzNetDetHead``.
        seg_head (dict, optional): ``BlitzNetSegHead``, or an mmseg decode
            head (``type='mmseg.FCNHead'``, ...) which is run through
            ``MMSegDecodeHead``.
        seg_tasks (list[dict], optional): Extra segmentation tasks, each
            with its own head on the neck (``seg_tasks.parse_seg_tasks``:
            ``name``, ``num_classes``, ``background``, ``multi_label``,
            ``seg_head``, ``loss_seg``); ground truth ``gt_<name>``,
            prediction ``pred_<name>``, loss ``loss_seg_<name>``
            (docs/multi_task.md). The first task is ``seg_head``.
        train_cfg (dict, optional): Passed to the detection head.
        test_cfg (dict, optional): Passed to the detection head.
        data_preprocessor (dict, optional): mmdet's ``DetDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.

    Raises:
        ValueError: if both heads are ``None``, or a head's class count
            (or background flag) differs from the model's
            (:func:`agree_num_classes`, :func:`agree_seg_classes`).

    ``predict`` fills ``pred_instances`` (``bboxes`` (M, 4) in original image
    pixels, ``scores``, ``labels``) and ``pred_sem_seg`` (``sem_seg``
    (1, H_ori, W_ori), labels of the segmentation set: with background
    0 = background, i + 1 = seg class i; without, i = seg class i), and
    ``pred_<name>`` per extra task (``sem_seg`` (1, H_ori, W_ori) labels;
    a multi-label task's (C, H_ori, W_ori) 0/1).
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 num_classes: Optional[int] = None,
                 seg_num_classes: Optional[int] = None,
                 seg_background: Optional[bool] = None,
                 ignore_index: int = IGNORE_INDEX,
                 bbox_head: OptConfigType = None,
                 seg_head: OptConfigType = None,
                 seg_tasks: Optional[list] = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if bbox_head is None and seg_head is None:
            raise ValueError('BlitzNet needs a bbox_head, a seg_head or both')
        if seg_tasks and seg_head is None:
            raise ValueError('BlitzNet: model.seg_tasks are extra tasks; '
                             'the first segmentation task is seg_head')
        # the extra tasks copy the first head's config as written
        tasks = parse_seg_tasks(seg_tasks, seg_head)
        seg_head = wrap_mmseg_head(seg_head)  # 'mmseg.X' heads: an adapter
        named = {f'seg_tasks[{t.name}].seg_head': h for t, h in tasks}
        data_preprocessor, seg_head, *task_heads = agree_ignore_index(
            ignore_index, data_preprocessor, seg_head=seg_head, **named)
        tasks = list(zip((t for t, _ in tasks), task_heads))
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.ignore_index = ignore_index
        if bbox_head is not None:
            bbox_head, num_classes = agree_num_classes(
                num_classes, bbox_head=bbox_head)
        seg_head, seg_num_classes, seg_background = agree_seg_classes(
            seg_num_classes, seg_background, num_classes, seg_head)
        self.num_classes = num_classes
        self.seg_num_classes = seg_num_classes
        self.seg_background = seg_background
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        bbox_head, seg_head = (
            levels_from_neck(h, self.neck) for h in (bbox_head, seg_head))
        if bbox_head is not None:
            bbox_head = dict(bbox_head, train_cfg=train_cfg, test_cfg=test_cfg)
            self.bbox_head = MODELS.build(bbox_head)
        if seg_head is not None:
            self.seg_head = MODELS.build(seg_head)
        self.seg_tasks = tuple(t for t, _ in tasks)
        if tasks:
            self.task_heads = nn.ModuleDict({
                t.name:
                MODELS.build(levels_from_neck(h, self.neck))
                for t, h in tasks
            })
            for t in self.seg_tasks:
                check_task_outputs(t, self.task_heads[t.name])
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    @property
    def with_seg(self) -> bool:
        return getattr(self, 'seg_head', None) is not None

    @property
    def num_seg_outputs(self) -> int:
        """K, the segmentation head's outputs (0 without one)."""
        return num_seg_classes(self.seg_num_classes, self.seg_background) \
            if self.with_seg else 0

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """(N, 3, S, S) -> neck levels, finest first."""
        return self.neck(self.backbone(batch_inputs))

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Total loss = seg + cls + loc (weights in the loss configs)."""
        x = self.extract_feat(batch_inputs)
        losses = {}
        if self.with_bbox:  # images without boxes: no detection loss
            losses.update(det_loss(self.bbox_head, x, batch_data_samples))
        if self.with_seg:
            losses.update(self.seg_head.loss(x, batch_data_samples))
        for task in self.seg_tasks:  # an image without gt_<name>: ignored
            losses.update(
                task_losses(
                    self.task_heads[task.name].loss(
                        x,
                        task_samples(batch_data_samples, task,
                                     self.ignore_index)), task))
        return losses

    def parse_losses(
            self, losses: Dict[str,
                               Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
        """mmengine's ``parse_losses``, refusing non-finite losses.

        It runs before every optimizer step (also under DDP), so a NaN/inf
        loss stops training before it reaches the weights or a checkpoint.

        Raises:
            FloatingPointError: naming the iteration and each non-finite
                loss term (e.g. ``loss_bbox=nan``).
        """
        loss, log_vars = super().parse_losses(losses)
        bad = {
            k: float(v)
            for k, v in log_vars.items()
            if not torch.isfinite(torch.as_tensor(v)).all()
        }
        if bad:
            it = MessageHub.get_current_instance().get_info('iter')
            where = f'iteration {it + 1}' if it is not None else 'training'
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise FloatingPointError(
                f'non-finite loss at {where}: {terms}. Training stopped '
                'before the optimizer step; the last checkpoint is intact. '
                'Lower the learning rate or check the data of this batch.')
        return loss, log_vars

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Boxes and label map per image.

        The network may run under reduced-precision autocast (the fast path,
        ``blitznet_mm.utils.fast_inference``); box decoding, NMS, mask
        upsampling and argmax always run in fp32 so that near-tied scores
        rank as they do in fp32.
        """
        x = self.extract_feat(batch_inputs)
        metas = [ds.metainfo for ds in batch_data_samples]
        head_outs = head_outputs(self, x)
        with torch.autocast(batch_inputs.device.type, enabled=False):
            if self.with_bbox:  # any number of outputs (FCOS: 3)
                results = det_predict_by_feat(self.bbox_head, head_outs['det'],
                                              metas, rescale)
                for ds, res in zip(batch_data_samples, results):
                    ds.pred_instances = res
            if self.with_seg:
                # each image's own area of the input (a padded or
                # centred image: RTMDet's, CornerNet's test pipelines)
                segs = seg_label_maps(self.seg_head,
                                      head_outs['seg'].float().contiguous(),
                                      metas)
                for ds, seg in zip(batch_data_samples, segs):
                    ds.pred_sem_seg = PixelData(sem_seg=seg[None])
            for task in self.seg_tasks:
                task_predictions(
                    task,
                    seg_label_maps(self.task_heads[task.name],
                                   head_outs[task.name].float().contiguous(),
                                   metas), batch_data_samples)
        return batch_data_samples

    def _forward(
        self,
        batch_inputs: Tensor,
        batch_data_samples: Optional[SampleList] = None
    ) -> Tuple[Union[Tensor, tuple], ...]:
        """Raw outputs: ``(cls_scores, bbox_preds)`` and/or seg logits,
        then each extra task's logits in ``seg_tasks`` order."""
        return tuple(
            head_outputs(self, self.extract_feat(batch_inputs)).values())
