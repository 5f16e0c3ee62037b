"""The segmentation label rule, in one place (paper Sec. 3.3; docs/data.md).

Semantic maps hold ``0`` for background, ``c + 1`` for detection class ``c``
(detection labels are mmdet's 0..C-1) and ``255`` for pixels that are not
scored (void borders, and every pixel of an image without a mask). The
loader, the loss, the metric, the visualizer and the demo all use these
functions, so the rule cannot drift between them.
"""
BACKGROUND = 0
IGNORE_INDEX = 255


def det_to_seg_label(det_label):
    """Detection label ``c`` (0..C-1) -> segmentation label ``c + 1``.
    Works on ints, numpy arrays and tensors."""
    return det_label + 1


def seg_to_det_label(seg_label):
    """Segmentation label ``s`` (1..C) -> detection label ``s - 1``;
    background (0) maps to -1."""
    return seg_label - 1


def num_seg_classes(num_det_classes: int) -> int:
    """Segmentation classes for ``C`` detection classes: ``C + 1``."""
    return num_det_classes + 1


def seg_class_names(det_classes) -> tuple:
    """Names of the segmentation classes: ``('background', *det_classes)``."""
    return ('background', ) + tuple(det_classes)

