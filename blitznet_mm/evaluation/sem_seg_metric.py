"""Segmentation metric for BlitzNet outputs: mmseg's IoUMetric with the
background class counted (21 classes for VOC, 81 for COCO)."""
from typing import Dict, Sequence

from mmdet.registry import METRICS
from mmseg.evaluation import IoUMetric

from ..structures.seg_labels import IGNORE_INDEX, seg_class_names


@METRICS.register_module()
class BlitzNetSegMetric(IoUMetric):
    """mIoU / aAcc / mAcc (and a per-class table) over ``background`` + the
    dataset's detection classes, at the original image resolution.

    mmseg's ``IoUMetric`` reads ``pred_sem_seg.data``; mmdet packs masks as
    ``sem_seg`` and has no background in ``dataset_meta['classes']``: this
    subclass bridges both, reusing mmseg's counting and tables.

    Args:
        ignore_index (int): Ignored label. Defaults to 255.
        background_name (str): Name of class 0. Defaults to 'background'.
        classwise (bool): Also return each class's IoU (%) as
            ``IoU.<class name>`` (NaN for a class absent from both the
            predictions and the ground truth). Defaults to False.
        **kwargs: mmseg ``IoUMetric`` arguments (``iou_metrics``, ``prefix``
            ...).

    Raises:
        ValueError: when a prediction and its ground truth differ in size.
    """
    default_prefix = 'sem_seg'

    def __init__(self, ignore_index: int = IGNORE_INDEX,
                 background_name: str = 'background',
                 classwise: bool = False, **kwargs) -> None:
        super().__init__(ignore_index=ignore_index, **kwargs)
        self.background_name = background_name
        self.classwise = classwise

    @property
    def seg_class_names(self) -> tuple:
        names = seg_class_names(self.dataset_meta['classes'])
        return (self.background_name, ) + names[1:]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.seg_class_names)
        for ds in data_samples:
            pred = ds['pred_sem_seg']['sem_seg'].squeeze(0)
            if 'gt_sem_seg' not in ds:
                continue  # an image without a mask has nothing to score
            gt = ds['gt_sem_seg']['sem_seg'].squeeze(0).to(pred)
            if gt.shape != pred.shape:
                raise ValueError(
                    f'{ds.get("img_path")}: prediction {tuple(pred.shape)} and '
                    f'ground-truth mask {tuple(gt.shape)} differ in size; '
                    'load the test mask after Resize so it stays at the '
                    'original resolution')
            self.results.append(self.intersect_and_union(
                pred, gt, num_classes, self.ignore_index))

    def compute_metrics(self, results: list) -> Dict[str, float]:
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
