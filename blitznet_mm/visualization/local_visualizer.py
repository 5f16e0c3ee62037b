"""Drawing of boxes and the semantic mask with mmdet's visualizer."""
import mmcv
import numpy as np
from mmdet.registry import VISUALIZERS
from mmdet.visualization import DetLocalVisualizer
from mmdet.visualization.palette import get_palette
from mmengine.structures import PixelData

from ..datasets.seg_tasks import task_label_set
from ..structures.seg_labels import IGNORE_INDEX, SegLabelSet


def sem_seg_to_det_labels(sem_seg,
                          ignore_index: int = IGNORE_INDEX,
                          label_set: SegLabelSet = None):
    """BlitzNet masks to mmdet's drawing convention: the index of each
    pixel's class in the set's ``classes``; background (in a set with one)
    and void become ``ignore_index``, not drawn. Without ``label_set``, the
    default set (0 background, c + 1 = detection class c)."""
    if label_set is None:
        label_set = SegLabelSet(('?', ), background=True)
    return label_set.drawn_labels(sem_seg, ignore_index)


@VISUALIZERS.register_module()
class BlitzNetLocalVisualizer(DetLocalVisualizer):
    """mmdet's ``DetLocalVisualizer`` that draws ``pred_sem_seg`` /
    ``gt_sem_seg`` with the names and colours of the dataset's segmentation
    set (``SegLabelSet.from_metainfo(dataset_meta)``: ``seg_classes`` and
    ``seg_palette``, or the detection classes and palette by default, so
    boxes and mask regions of a class share one colour). Background is left
    undrawn; a set without a palette gets mmdet's random one.

    Args: those of ``DetLocalVisualizer``.
    """

    def _draw_sem_seg(self, image, sem_seg: PixelData, classes, palette):
        labels = SegLabelSet.from_metainfo(
            self.dataset_meta or dict(classes=classes, palette=palette))
        return self._draw_labels(image, sem_seg.sem_seg, labels)

    def _draw_labels(self, image, sem_seg, labels: SegLabelSet):
        """``sem_seg`` (1, H, W) labels of ``labels`` drawn on ``image``."""
        palette = labels.palette or get_palette('random', labels.num_classes)
        shown = PixelData(
            metainfo=dict(ignore_index=IGNORE_INDEX),
            sem_seg=labels.drawn_labels(sem_seg))
        return super()._draw_sem_seg(image, shown, labels.classes, palette)

    def add_datasample(self,
                       name,
                       image,
                       data_sample=None,
                       draw_gt=True,
                       draw_pred=True,
                       show=False,
                       wait_time=0,
                       out_file=None,
                       pred_score_thr=0.3,
                       step=0) -> None:
        """mmdet's drawing (boxes and the first task), then one row per
        extra segmentation task of ``dataset_meta['seg_tasks']``
        (docs/multi_task.md): its ground truth and prediction side by side
        in the task's names and colours. A multi-label task is drawn as one
        map: where classes overlap, the later class shows."""
        tasks = (self.dataset_meta or {}).get('seg_tasks') or {}
        if data_sample is None or not tasks:
            return super().add_datasample(name, image, data_sample, draw_gt,
                                          draw_pred, show, wait_time, out_file,
                                          pred_score_thr, step)
        # the first rows only, stored nowhere: the backends get the whole
        backends, self._vis_backends = self._vis_backends, {}
        try:
            super().add_datasample(name, image, data_sample, draw_gt,
                                   draw_pred, False, 0, None, pred_score_thr,
                                   step)
        finally:
            self._vis_backends = backends
        rows = [self.get_image()]
        for task, spec in tasks.items():
            labels = task_label_set(spec)
            row = [
                self._draw_labels(
                    image.copy(),
                    task_label_map(
                        data_sample.get(f'{kind}_{task}').sem_seg, spec),
                    labels)
                for kind, wanted in (('gt', draw_gt), ('pred', draw_pred))
                if wanted and f'{kind}_{task}' in data_sample
            ]
            if row:
                rows.append(np.concatenate(row, axis=1))
        width = max(r.shape[1] for r in rows)
        drawn = np.concatenate([
            np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows
        ],
                               axis=0)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)


def task_label_map(sem_seg, spec: dict) -> np.ndarray:
    """A task's ground truth or prediction -> (1, H, W) labels to draw: a
    multi-label (C, H, W) 0/1 map becomes the index of the last class
    present, 255 where none (or not scored)."""
    data = sem_seg.cpu().numpy() if hasattr(sem_seg, 'cpu') else \
        np.asarray(sem_seg)
    if not spec.get('multi_label'):
        return data
    out = np.full((1, ) + data.shape[1:], IGNORE_INDEX, np.int64)
    for c in range(data.shape[0]):
        out[0][data[c] == 1] = c
    return out
