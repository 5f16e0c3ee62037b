"""Drawing of boxes and the semantic mask with mmdet's visualizer."""
import cv2
import mmcv
import numpy as np
from mmdet.registry import VISUALIZERS
from mmdet.visualization import DetLocalVisualizer
from mmdet.visualization.palette import _get_adaptive_scales, get_palette
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
        """``sem_seg`` (1, H, W) labels of ``labels`` drawn on ``image``:
        mmdet's look (each class blended at ``self.alpha``, its name on
        the centroid of its largest region, white on black) in one blend
        and one canvas render. mmdet's ``_draw_sem_seg`` blends and renders
        the whole canvas once per class (1.75x the model's time per image
        on one CPU core; 0.52x with this, docs/demo.md)."""
        palette = labels.palette or get_palette('random', labels.num_classes)
        drawn = labels.drawn_labels(sem_seg)
        drawn = drawn.reshape(drawn.shape[-2:])  # (1, H, W) -> (H, W)
        self.set_image(blend_label_map(image, drawn, palette, self.alpha))
        ids, centroids, areas = label_regions(drawn)
        if len(ids):
            scales = _get_adaptive_scales(areas)
            self.draw_texts([labels.classes[i] for i in ids],
                            centroids,
                            colors=(255, 255, 255),
                            font_sizes=[int(13 * s) for s in scales],
                            horizontal_alignments='center',
                            bboxes=[
                                dict(
                                    facecolor='black',
                                    alpha=0.8,
                                    pad=0.7,
                                    edgecolor='none')
                            ] * len(ids))
        return self.get_image()

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


def blend_label_map(image: np.ndarray,
                    label_map: np.ndarray,
                    palette,
                    alpha: float,
                    ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Every labelled pixel blended with its class colour in one step:
    ``(1 - alpha) * image + alpha * palette[label]`` in float32, rounded
    to nearest (half to even); ``ignore_index`` pixels are left as they
    are. Equal to mmengine's ``draw_binary_masks`` per class (cv2) at
    mmdet's default alpha 0.8, within one level at other alphas.

    Args:
        image (np.ndarray): (H, W, 3) uint8.
        label_map (np.ndarray): (H, W) integer class indices into
            ``palette``, or ``ignore_index``.
        palette: (K, 3) colours (0..255), in ``image``'s channel order.
        alpha (float): opacity of the colours, in [0, 1].

    Returns:
        np.ndarray: (H, W, 3) uint8, a new array.

    Raises:
        ValueError: if the shapes differ or a label has no colour.
    """
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if image.shape[:2] != label_map.shape:
        raise ValueError(f'label map {label_map.shape} is not the size of '
                         f'the image {image.shape[:2]}')
    shown = label_map != ignore_index
    labels = np.where(shown, label_map, 0)
    if shown.any() and not 0 <= labels.min() <= labels.max() < len(palette):
        raise ValueError(f'labels {labels.min()}..{labels.max()} drawn '
                         f'with a palette of {len(palette)} colours')
    colour = palette[labels].astype(np.float32)
    out = image.astype(np.float32) * np.float32(1 - alpha) + \
        colour * np.float32(alpha)
    out = np.rint(out, out=out).clip(0, 255).astype(np.uint8)
    return np.where(shown[..., None], out, image.astype(np.uint8))


def label_regions(label_map: np.ndarray, ignore_index: int = IGNORE_INDEX):
    """Where to name each class present in ``label_map`` (H, W): the
    centroid (x, y) of its largest 8-connected region and that region's
    area in pixels, as mmdet's ``_draw_sem_seg`` places its labels. One
    ``cv2.connectedComponentsWithStats`` per class, on the class's
    bounding box only.

    Returns:
        tuple: ``ids`` (N, ) int64 classes (ascending), ``centroids``
        (N, 2) float64 pixels, ``areas`` (N, ) int64 pixels.
    """
    ids = np.unique(label_map)
    ids = ids[ids != ignore_index]
    centroids, areas = np.zeros((len(ids), 2)), np.zeros(len(ids), np.int64)
    for k, c in enumerate(ids):
        mask = label_map == c
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        y0, x0 = rows[0], cols[0]
        crop = mask[y0:rows[-1] + 1, x0:cols[-1] + 1].astype(np.uint8)
        _, _, stats, cents = cv2.connectedComponentsWithStats(
            crop, connectivity=8)
        largest = np.argmax(stats[1:, cv2.CC_STAT_AREA]) + 1
        centroids[k] = cents[largest] + (x0, y0)
        areas[k] = stats[largest, cv2.CC_STAT_AREA]
    return ids.astype(np.int64), centroids, areas


def task_label_map(sem_seg, spec: dict) -> np.ndarray:
    """A task's ground truth or prediction -> (1, H, W) labels to draw: a
    multi-label (C, H, W) 0/1 map becomes the index of the last class
    present, 255 where none (or not scored)."""
    data = sem_seg.cpu().numpy() if hasattr(sem_seg, 'cpu') else \
        np.asarray(sem_seg)
    if not spec.get('multi_label'):
        return data
    present = data[::-1] == 1  # the last class first: argmax finds it
    last = data.shape[0] - 1 - present.argmax(0)
    return np.where(present.any(0), last, IGNORE_INDEX)[None].astype(np.int64)
