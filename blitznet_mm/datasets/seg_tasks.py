"""Datasets whose images carry the masks of extra segmentation tasks
(docs/multi_task.md): each task names its label set and the folder of its
PNGs (a ``data_prefix`` key named as the task)."""
import os.path as osp
from typing import Dict, Mapping, Optional

from mmdet.registry import DATASETS

from ..structures.seg_labels import SegLabelSet
from .coco import BlitzNetCocoDataset


def task_label_set(spec: Mapping) -> SegLabelSet:
    """A task's metainfo entry (``seg_classes``, ``seg_background``,
    ``seg_palette``, ``multi_label``) -> its label set (a multi-label set
    has no background: one output per class)."""
    return SegLabelSet(
        spec['seg_classes'],
        bool(spec.get('seg_background', True))
        and not spec.get('multi_label', False), spec.get('seg_palette'))


class SegTasksMixin:
    """Adds ``seg_tasks`` to a BlitzNet dataset (``BlitzNetCocoDataset``
    and its subclasses).

    ``seg_tasks`` maps a task name to ``dict(classes, background=True,
    multi_label=False, palette=None, suffix='.png')``; the task's PNG of
    an image is ``data_prefix[<name>]/<image stem><suffix>`` (relative to
    ``data_root``). An image without that file has no mask for the task
    (ignored for it only). The metainfo gains ``seg_tasks``: per task
    ``seg_classes``, ``seg_background``, ``multi_label`` (and
    ``seg_palette``), read by the metric, the visualizer and the
    inferencer; each data info gains ``seg_tasks`` for ``LoadTaskMasks``.

    Raises:
        ValueError: a task without a ``data_prefix`` folder, a multi-label
            task with background, or a task none of whose images has a
            mask (a wrong folder or suffix), naming the task and folder.
    """

    def __init__(self,
                 *args,
                 seg_tasks: Optional[Dict[str, dict]] = None,
                 **kwargs) -> None:
        self.task_specs = {}
        for name, spec in (seg_tasks or {}).items():
            spec = dict(spec)
            multi = bool(spec.get('multi_label', False))
            if multi and spec.get('background'):
                raise ValueError(f'seg_tasks[{name}]: a multi-label task has '
                                 'no background class')
            self.task_specs[name] = dict(
                seg_classes=tuple(spec['classes']),
                seg_background=False if multi else bool(
                    spec.get('background', True)),
                multi_label=multi,
                suffix=spec.get('suffix', '.png'),
                seg_palette=spec.get('palette'))
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if self.task_specs:
            metainfo['seg_tasks'] = {
                n: {
                    k: v
                    for k, v in s.items() if k != 'suffix' and v is not None
                }
                for n, s in self.task_specs.items()
            }
        super().__init__(*args, metainfo=metainfo, **kwargs)

    def load_data_list(self):
        for name in self.task_specs:
            if not self.data_prefix.get(name):
                raise ValueError(f'{type(self).__name__}: seg task {name!r} '
                                 f"needs data_prefix['{name}'] (its PNGs)")
        self._masks_found = dict.fromkeys(self.task_specs, 0)
        data_list = super().load_data_list()
        for name, found in self._masks_found.items():
            if not found:
                spec = self.task_specs[name]
                raise ValueError(
                    f'{type(self).__name__} ({self.ann_file}): no image has '
                    f'a mask of seg task {name!r} (looked for <image stem>'
                    f"{spec['suffix']} in {self.data_prefix[name]})")
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        data_info = super().parse_data_info(raw_data_info)
        stem = osp.splitext(osp.basename(data_info['img_path']))[0]
        tasks = []
        for name, spec in self.task_specs.items():
            path = osp.join(self.data_prefix[name], stem + spec['suffix'])
            path = path if osp.isfile(path) else None
            self._masks_found[name] += path is not None
            labels = task_label_set(spec)
            tasks.append(
                dict(
                    name=name,
                    path=path,
                    num_classes=labels.num_classes,
                    background=labels.background,
                    multi_label=spec['multi_label']))
        data_info['seg_tasks'] = tasks
        return data_info


@DATASETS.register_module()
class BlitzNetMultiTaskCocoDataset(SegTasksMixin, BlitzNetCocoDataset):
    """``BlitzNetCocoDataset`` (boxes and the first task's mask) with the
    PNG masks of extra segmentation tasks (:class:`SegTasksMixin`).

    Args:
        seg_tasks (dict): Task name -> ``dict(classes, background,
            multi_label, palette, suffix)``.
        **kwargs: ``BlitzNetCocoDataset`` arguments; ``data_prefix`` has a
            folder per task, under the task's name.
    """
