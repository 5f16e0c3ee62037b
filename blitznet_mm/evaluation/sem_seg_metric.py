"""Segmentation metric for BlitzNet outputs: mmseg's IoUMetric over the
dataset's segmentation label set (21 classes for VOC and 81 for COCO with
background; 171 for COCO-Stuff, 133 for COCO panoptic without)."""
import os.path as osp
from typing import Dict, Optional, Sequence

import mmcv
import numpy as np
from mmdet.registry import METRICS
from mmengine.logging import MMLogger
from mmseg.evaluation import IoUMetric

from ..structures.seg_labels import IGNORE_INDEX, SegLabelSet


@METRICS.register_module()
class BlitzNetSegMetric(IoUMetric):
    """mIoU / aAcc / mAcc (and a per-class table) over the labels of the
    dataset's segmentation set (``SegLabelSet.from_metainfo``: its
    ``seg_classes``, or ``background`` + the detection classes), at the
    original image resolution.

    mmseg's ``IoUMetric`` reads ``pred_sem_seg.data``; mmdet packs masks as
    ``sem_seg`` and has no background in ``dataset_meta['classes']``: this
    subclass bridges both, reusing mmseg's counting and tables.

    Args:
        ignore_index (int): Ignored label. Defaults to 255.
        background_name (str): Name of class 0 in a set with background.
            Defaults to 'background'.
        task (str, optional): Score an extra segmentation task of the model
            (docs/multi_task.md): read ``pred_<task>`` / ``gt_<task>`` and
            its label set from ``dataset_meta['seg_tasks'][task]``; give it
            its own ``prefix``. A multi-label task is scored per class as a
            binary mask (IoU of class c: pixels predicted and labelled c
            over pixels predicted or labelled c). Defaults to None: the
            first task, ``pred_sem_seg``.
        classwise (bool): Also return each class's IoU (%) as
            ``IoU.<class name>`` (NaN for a class absent from both the
            predictions and the ground truth). Defaults to False.
        **kwargs: mmseg ``IoUMetric`` arguments (``iou_metrics``, ``prefix``
            ...), among them ``output_dir``: write each predicted label map
            there as ``<image stem>.png``, lossless, in the labels of the
            set (uint8, uint16 for sets of more than 256 labels), and
            ``format_only``: only write them (no ground truth needed, no
            metrics; for a test server).

    Raises:
        ValueError: ``format_only`` without ``output_dir``; when a
            prediction and its ground truth differ in size, or a
            ground-truth mask holds a label outside the set (other than
            ``ignore_index``), naming the image.
    """
    default_prefix = 'sem_seg'

    def __init__(self,
                 ignore_index: int = IGNORE_INDEX,
                 background_name: str = 'background',
                 classwise: bool = False,
                 task: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(ignore_index=ignore_index, **kwargs)
        self.task = task
        self.pred_key, self.gt_key = ('pred_sem_seg', 'gt_sem_seg') if \
            task is None else (f'pred_{task}', f'gt_{task}')
        if self.format_only and not self.output_dir:
            raise ValueError('BlitzNetSegMetric: format_only=True writes the '
                             'label maps to output_dir; set output_dir')
        self.background_name = background_name
        self.classwise = classwise

    @property
    def seg_class_names(self) -> tuple:
        """Name of each label value, from the dataset's set."""
        labels = self.label_set
        names = labels.names
        if labels.background:
            names = (self.background_name, ) + names[1:]
        return names

    @property
    def task_meta(self) -> dict:
        """``dataset_meta['seg_tasks'][task]`` ({} for the first task).

        Raises:
            KeyError: the dataset states no such task.
        """
        if self.task is None:
            return {}
        tasks = (self.dataset_meta or {}).get('seg_tasks') or {}
        if self.task not in tasks:
            raise KeyError(f'BlitzNetSegMetric(task={self.task!r}): the '
                           f'dataset states the seg tasks {sorted(tasks)}')
        return tasks[self.task]

    @property
    def label_set(self) -> SegLabelSet:
        if self.task is None:
            return SegLabelSet.from_metainfo(self.dataset_meta)
        meta = self.task_meta
        return SegLabelSet(
            meta['seg_classes'],
            meta.get('seg_background', True)
            and not meta.get('multi_label', False), meta.get('seg_palette'))

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.seg_class_names)
        for ds in data_samples:
            pred = ds[self.pred_key]['sem_seg'].squeeze(0)
            if self.output_dir and pred.dim() == 2:
                self._write_label_map(ds, pred, num_classes)
            if self.format_only or self.gt_key not in ds:
                continue  # an image without a mask has nothing to score
            gt = ds[self.gt_key]['sem_seg'].squeeze(0).to(pred)
            if self.task_meta.get('multi_label'):
                self.results.append(self._multi_label_areas(ds, pred, gt))
                continue
            if gt.shape != pred.shape:
                raise ValueError(
                    f'{ds.get("img_path")}: prediction '
                    f'{tuple(pred.shape)} and ground-truth mask '
                    f'{tuple(gt.shape)} differ in size; '
                    'load the test mask after Resize so it stays at the '
                    'original resolution')
            bad = (gt >= num_classes) & (gt != self.ignore_index)
            if bad.any():
                raise ValueError(
                    f'{ds.get("img_path")}: ground-truth labels '
                    f'{gt[bad].unique()[:8].tolist()} are outside the '
                    f'{num_classes} labels of the segmentation set')
            self.results.append(
                self.intersect_and_union(pred, gt, num_classes,
                                         self.ignore_index))

    def _multi_label_areas(self, ds: dict, pred, gt) -> tuple:
        """(C, H, W) 0/1 prediction and 0/1/ignore ground truth -> per
        class (intersection, union, predicted, labelled) pixel counts of
        the scored pixels, the tuple mmseg's ``compute_metrics`` sums."""
        if pred.dim() == 2:
            pred, gt = pred[None], gt[None]
        if gt.shape != pred.shape:
            raise ValueError(
                f'{ds.get("img_path")}: multi-label prediction '
                f'{tuple(pred.shape)} and ground truth {tuple(gt.shape)} '
                'differ in shape')
        valid = gt != self.ignore_index
        p, g = (pred == 1) & valid, (gt == 1) & valid
        dims = tuple(range(1, p.dim()))
        inter = (p & g).sum(dims)
        return (inter.double().cpu(), (p | g).sum(dims).double().cpu(),
                p.sum(dims).double().cpu(), g.sum(dims).double().cpu())

    def _write_label_map(self, ds: dict, pred, num_classes: int) -> None:
        """``output_dir/<image stem>.png``: the label values, lossless."""
        stem = osp.splitext(osp.basename(ds['img_path']))[0]
        labels = pred.cpu().numpy().astype(np.uint8 if num_classes <=
                                           256 else np.uint16)
        # cv2 writes 8- and 16-bit single-channel PNGs as they are
        mmcv.imwrite(labels, osp.join(self.output_dir, stem + '.png'))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if self.format_only:  # mmseg's message names the parent folder
            MMLogger.get_current_instance().info(
                f'label maps are saved to {self.output_dir}')
            return {}
        meta = self._dataset_meta
        self._dataset_meta = dict(meta, classes=self.seg_class_names)
        try:
            metrics = super().compute_metrics(results)
        finally:
            self._dataset_meta = meta
        if self.classwise:
            # results: per image (intersect, union, pred, label) areas
            inter = sum(r[0] for r in results)
            union = sum(r[1] for r in results)
            iou = (100 * inter / union).tolist()
            for name, v in zip(self.seg_class_names, iou):
                metrics[f'IoU.{name}'] = round(v, 2)
        return metrics
