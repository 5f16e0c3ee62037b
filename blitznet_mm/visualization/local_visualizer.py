"""Drawing of boxes and the semantic mask with mmdet's visualizer."""
from mmdet.registry import VISUALIZERS
from mmdet.visualization import DetLocalVisualizer
from mmdet.visualization.palette import get_palette
from mmengine.structures import PixelData

from ..structures.seg_labels import IGNORE_INDEX, SegLabelSet


def sem_seg_to_det_labels(sem_seg, ignore_index: int = IGNORE_INDEX,
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
        labels = SegLabelSet.from_metainfo(self.dataset_meta or dict(
            classes=classes, palette=palette))
        palette = labels.palette or get_palette('random', labels.num_classes)
        shown = PixelData(metainfo=dict(ignore_index=IGNORE_INDEX),
                          sem_seg=labels.drawn_labels(sem_seg.sem_seg))
        return super()._draw_sem_seg(image, shown, labels.classes, palette)
