"""Drawing of boxes and the semantic mask with mmdet's visualizer."""
import numpy as np
import torch
from mmdet.registry import VISUALIZERS
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import PixelData

from ..structures.seg_labels import (BACKGROUND, IGNORE_INDEX,
                                    seg_to_det_label)


def sem_seg_to_det_labels(sem_seg, ignore_index: int = IGNORE_INDEX):
    """BlitzNet masks (0 background, c + 1 = class c) to mmdet's drawing
    convention (class c = c, background and void not drawn = 255)."""
    data = sem_seg.numpy() if isinstance(sem_seg, torch.Tensor) else sem_seg
    data = data.astype(np.int64)
    out = np.where((data == BACKGROUND) | (data == ignore_index),
                   ignore_index, seg_to_det_label(data))
    return out


@VISUALIZERS.register_module()
class BlitzNetLocalVisualizer(DetLocalVisualizer):
    """mmdet's ``DetLocalVisualizer`` that draws ``pred_sem_seg`` /
    ``gt_sem_seg`` in BlitzNet's label convention (background 0 is left
    undrawn, class ``c + 1`` gets the colour and name of detection class
    ``c``), so boxes and mask regions of a class share one colour.

    Args: those of ``DetLocalVisualizer``.
    """

    def _draw_sem_seg(self, image, sem_seg: PixelData, classes, palette):
        shifted = PixelData(metainfo=dict(ignore_index=IGNORE_INDEX),
                            sem_seg=sem_seg_to_det_labels(sem_seg.sem_seg))
        return super()._draw_sem_seg(image, shifted, classes, palette)
