"""Several segmentation tasks in one BlitzNet (docs/multi_task.md): the
first is the model's ``seg_head`` (``gt_sem_seg`` / ``pred_sem_seg``, as a
single-task model); each extra task of ``model.seg_tasks`` has its own head
on the shared neck, its ground truth in the data sample as ``gt_<name>``
and its prediction as ``pred_<name>`` (``PixelData`` with ``sem_seg``)."""
import copy
import keyword
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample, SampleList
from mmengine.structures import PixelData
from torch import Tensor

from ...structures.seg_labels import IGNORE_INDEX, num_seg_classes
from ..heads.mmseg_head import wrap_mmseg_head
from ..heads.multi_label_seg_head import LOSS_MULTI_LABEL

#: data-sample fields a task name may not shadow
RESERVED = ('sem_seg', 'instances', 'panoptic_seg', 'seg_map', 'ignored')


@dataclass(frozen=True)
class SegTask:
    """One extra segmentation task (``model.seg_tasks`` entry).

    Args:
        name (str): Identifier; the data sample fields are ``gt_<name>``
            and ``pred_<name>``, the loss is ``loss_seg_<name>``.
        num_classes (int): Named classes of the task's label set.
        background (bool): Label 0 is a background class (K = C + 1).
            Defaults to True; always False for a multi-label task.
        multi_label (bool): Overlapping classes: one sigmoid per class,
            binary cross-entropy, (C, H, W) 0/1 masks. Defaults to False.
    """
    name: str
    num_classes: int
    background: bool = True
    multi_label: bool = False

    @property
    def gt_key(self) -> str:
        return f'gt_{self.name}'

    @property
    def pred_key(self) -> str:
        return f'pred_{self.name}'

    @property
    def num_outputs(self) -> int:
        """The task head's output channels."""
        return self.num_classes if self.multi_label else \
            num_seg_classes(self.num_classes, self.background)


def parse_seg_tasks(tasks: Optional[Sequence[dict]],
                    base_head: Optional[dict]) -> List[Tuple[SegTask, dict]]:
    """``model.seg_tasks`` -> (task, head config) per extra task.

    An entry is ``dict(name, num_classes, background=True,
    multi_label=False, seg_head=None, loss_seg=None)``; without
    ``seg_head`` the task's head is a copy of the model's ``seg_head``
    config (a ``BlitzNetMultiLabelSegHead`` of the same width for a
    multi-label task), with ``loss_seg`` (loss type and ``loss_weight``)
    when given.

    Raises:
        ValueError: a name that is not an identifier, repeated or reserved;
            no ``num_classes``; a multi-label task with background; a head
            config whose ``num_classes``/``background`` disagree with the
            task's (naming both); no head to copy.
    """
    out, seen = [], set()
    for i, cfg in enumerate(tasks or ()):
        cfg = dict(cfg)
        name = cfg.pop('name', None)
        if not isinstance(name, str) or not name.isidentifier() or \
                keyword.iskeyword(name) or name in RESERVED:
            raise ValueError(f'model.seg_tasks[{i}]: name {name!r} must be '
                             f'an identifier other than {RESERVED}')
        if name in seen:
            raise ValueError(f'model.seg_tasks: task {name!r} is named twice')
        seen.add(name)
        if cfg.get('num_classes') is None:
            raise ValueError(f'model.seg_tasks[{name}]: set num_classes')
        multi = bool(cfg.pop('multi_label', False))
        bg = cfg.pop('background', None)
        if multi and bg:
            raise ValueError(f'model.seg_tasks[{name}]: a multi-label task '
                             'has no background class')
        task = SegTask(name, int(cfg.pop('num_classes')), False if multi else
                       (True if bg is None else bool(bg)), multi)
        head = cfg.pop('seg_head', None)
        loss = cfg.pop('loss_seg', None)
        if cfg:
            raise ValueError(f'model.seg_tasks[{name}]: unknown keys '
                             f'{sorted(cfg)}')
        out.append((task, task_head_cfg(task, head, base_head, loss)))
    return out


def task_head_cfg(task: SegTask, head: Optional[dict],
                  base_head: Optional[dict], loss: Optional[dict]) -> dict:
    """The head config of ``task`` (see :func:`parse_seg_tasks`)."""
    if head is None:
        if base_head is None:
            raise ValueError(f'model.seg_tasks[{task.name}]: give seg_head '
                             '(the model has no seg_head to copy)')
        head = copy.deepcopy(dict(base_head))
        if task.multi_label:
            if head.get('type') != 'BlitzNetSegHead':
                raise ValueError(
                    f'model.seg_tasks[{task.name}]: a multi-label task copies '
                    f"a BlitzNetSegHead, the model's is {head.get('type')}; "
                    'give the task a seg_head')
            # per-class sigmoid BCE; its ignored label is the model's
            # (BlitzNet gives it: agree_ignore_index)
            loss = {
                k: v
                for k, v in LOSS_MULTI_LABEL.items() if k != 'ignore_index'
            }
            head.update(type='BlitzNetMultiLabelSegHead', loss_seg=loss)
        head.pop('num_classes', None)
        head.pop('background', None)
    head = dict(head)
    for key, want in (('num_classes', task.num_classes), ('background',
                                                          task.background)):
        if head.get(key) is not None and head[key] != want:
            raise ValueError(
                f'model.seg_tasks[{task.name}]: {key}={want} but its '
                f'seg_head.{key}={head[key]}; state it once, on the task')
    head.update(num_classes=task.num_classes, background=task.background)
    if loss is not None:
        head['loss_seg'] = loss
    return wrap_mmseg_head(head)


def pad_mask(mask: Tensor,
             size: Tuple[int, int],
             value: int = IGNORE_INDEX) -> Tensor:
    """(C, h, w) -> (C, H, W): padded at the bottom and right with
    ``value``, as mmdet pads the image (the data preprocessor pads only
    ``gt_sem_seg``).

    Raises:
        ValueError: if the mask is larger than ``size``.
    """
    h, w = mask.shape[-2:]
    if h > size[0] or w > size[1]:
        raise ValueError(f'mask {tuple(mask.shape)} is larger than the '
                         f'batch input {tuple(size)}')
    if (h, w) == tuple(size):
        return mask
    return F.pad(mask, (0, size[1] - w, 0, size[0] - h), value=value)


def task_samples(batch_data_samples: SampleList,
                 task: SegTask,
                 ignore_index: int = IGNORE_INDEX) -> SampleList:
    """The batch as the task's head sees it: each sample's metainfo and,
    when it has one, its ``gt_<name>`` as ``gt_sem_seg`` (padded to the
    batch input). A sample without ``gt_<name>`` has none: the head
    ignores it for this task only (BlitzNet's mixed-annotation rule)."""
    out = []
    for ds in batch_data_samples:
        sample = DetDataSample(metainfo=ds.metainfo)
        if task.gt_key in ds:
            mask = ds.get(task.gt_key).sem_seg
            sample.gt_sem_seg = PixelData(
                sem_seg=pad_mask(mask, ds.metainfo['batch_input_shape'],
                                 ignore_index))
        out.append(sample)
    return out


def task_losses(losses: Dict[str, Tensor], task: SegTask) -> Dict[str, Tensor]:
    """A head's losses renamed for ``task``: ``loss_seg`` ->
    ``loss_seg_<name>``, any other ``k`` -> ``k_<name>``."""
    return {
        (f'loss_seg_{task.name}' if k == 'loss_seg' else f'{k}_{task.name}'): v
        for k, v in losses.items()
    }


def task_predictions(task: SegTask, maps: List[Tensor],
                     batch_data_samples: SampleList) -> None:
    """Store each image's label map (H, W) (multi-label: (C, H, W) 0/1) as
    ``pred_<name>`` (``PixelData``, ``sem_seg`` (1 or C, H, W))."""
    for ds, m in zip(batch_data_samples, maps):
        ds.set_field(
            PixelData(sem_seg=m if task.multi_label else m[None]),
            task.pred_key)


def check_task_outputs(task: SegTask, head: torch.nn.Module) -> None:
    """Raise ``ValueError`` if a built head's output channels differ from
    the task's K (a custom head that ignored its ``num_classes``)."""
    conv = getattr(head, 'cls_seg', None)
    if isinstance(conv, torch.nn.Conv2d) and \
            conv.out_channels != task.num_outputs:
        raise ValueError(f'seg task {task.name}: its head has '
                         f'{conv.out_channels} outputs, the task '
                         f'{task.num_outputs}')


def check_task_sets(tasks: Sequence[SegTask], meta: Optional[dict],
                    where: str) -> None:
    """Check the model's extra tasks against a dataset's metainfo
    ``seg_tasks`` (``TaskSettingsCheckHook``). A dataset that states no
    ``seg_tasks`` is not checked (its images carry no task masks).

    Raises:
        ValueError: naming ``where`` (the split and dataset), the task and
            both statements, when the dataset lacks a model task or states
            another count, background or multi-label flag.
    """
    stated = (meta or {}).get('seg_tasks')
    if not tasks or not stated:
        return
    for task in tasks:
        spec = stated.get(task.name)
        if spec is None:
            raise ValueError(
                f'{where} states the seg tasks {sorted(stated)} but not '
                f'{task.name!r} of model.seg_tasks')
        multi = bool(spec.get('multi_label', False))
        have = (len(spec['seg_classes']),
                bool(spec.get('seg_background', True)) and not multi, multi)
        want = (task.num_classes, task.background, task.multi_label)
        if have != want:
            raise ValueError(
                f'seg task {task.name!r}: {where} has {have[0]} classes '
                f'(background={have[1]}, multi_label={have[2]}) but '
                f'model.seg_tasks states num_classes={want[0]}, '
                f'background={want[1]}, multi_label={want[2]}')
