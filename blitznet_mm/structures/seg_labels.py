"""The segmentation label rule, in one place (paper Sec. 3.3; docs/data.md).

A segmentation label set is the list of classes painted in the masks
(``seg_classes``) and whether label 0 is a background class:

- **with background** (the default, BlitzNet's VOC/COCO rule): 0 is
  background, ``i + 1`` is ``seg_classes[i]``; K = len(seg_classes) + 1.
  When a dataset states no ``seg_classes`` they are its detection
  ``classes``, so detection class ``c`` (mmdet's 0..C-1) is ``c + 1``.
- **without background** (COCO-Stuff, COCO panoptic, Cityscapes): every
  labelled pixel has a class, ``i`` is ``seg_classes[i]``;
  K = len(seg_classes).

In both, ``255`` is not scored: void borders, unlabelled pixels, and every
pixel of an image without a mask. A dataset states its set in its
metainfo: ``seg_classes``, ``seg_background`` (default True) and
``seg_palette`` (one RGB colour per entry of ``seg_classes``); the model
states the same once (``model.seg_num_classes``, ``model.seg_background``)
and the segmentation head has K outputs. The loader, the loss, the metric,
the visualizer, the inferencer, the exporter and the demos all read the set
through :class:`SegLabelSet`, so the rule cannot drift between them.
"""
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

BACKGROUND = 0
IGNORE_INDEX = 255
BACKGROUND_NAME = 'background'


def det_to_seg_label(det_label):
    """Detection label ``c`` (0..C-1) -> segmentation label ``c + 1`` (the
    default set: seg classes = detection classes, with background).
    Works on ints, numpy arrays and tensors."""
    return det_label + 1


def seg_to_det_label(seg_label):
    """Segmentation label ``s`` (1..C) -> detection label ``s - 1`` (the
    default set); background (0) maps to -1."""
    return seg_label - 1


def num_seg_classes(num_classes: int, background: bool = True) -> int:
    """Outputs K of a segmentation head for ``num_classes`` named classes:
    ``num_classes + 1`` with a background class, ``num_classes`` without."""
    return num_classes + int(bool(background))


def seg_class_names(det_classes) -> tuple:
    """Names of the default set's labels: ``('background', *det_classes)``."""
    return (BACKGROUND_NAME, ) + tuple(det_classes)


def describe_set(num_classes: int, background: bool) -> str:
    """'171 classes, no background' / '20 classes + background'."""
    return (f'{num_classes} classes + background'
            if background else f'{num_classes} classes, no background')


@dataclass(frozen=True)
class SegLabelSet:
    """A segmentation label set (module docstring).

    Args:
        classes (tuple[str]): The named classes painted in the masks
            (without the background class).
        background (bool): Label 0 is a background class. Defaults to True.
        palette (tuple, optional): One (R, G, B) per entry of ``classes``.

    Raises:
        ValueError: no classes, or a palette of another length.
    """
    classes: Tuple[str, ...]
    background: bool = True
    palette: Optional[Tuple[Tuple[int, int, int], ...]] = None

    def __post_init__(self):
        object.__setattr__(self, 'classes', tuple(self.classes))
        object.__setattr__(self, 'background', bool(self.background))
        if not self.classes:
            raise ValueError('a segmentation label set needs at least one '
                             'class (seg_classes)')
        if self.palette is not None:
            pal = tuple(tuple(int(v) for v in c) for c in self.palette)
            if len(pal) != len(self.classes):
                raise ValueError(f'seg_palette has {len(pal)} colours for '
                                 f'{len(self.classes)} seg_classes')
            object.__setattr__(self, 'palette', pal)

    @classmethod
    def from_metainfo(cls, meta: Mapping) -> 'SegLabelSet':
        """The set a dataset's metainfo states: ``seg_classes`` /
        ``seg_background`` / ``seg_palette``, or, without ``seg_classes``,
        the default set: the detection ``classes`` (and ``palette``) with
        background.

        Raises:
            ValueError: the metainfo names neither ``seg_classes`` nor
                ``classes``, or states ``seg_background`` or
                ``seg_palette`` without ``seg_classes``.
        """
        meta = meta or {}
        if meta.get('seg_classes') is not None:
            return cls(meta['seg_classes'], meta.get('seg_background', True),
                       meta.get('seg_palette'))
        extra = [
            k for k in ('seg_background', 'seg_palette')
            if meta.get(k) is not None
        ]
        if extra:
            raise ValueError(f'metainfo states {extra} without seg_classes; '
                             'name the segmentation classes too')
        if not meta.get('classes'):
            raise ValueError('metainfo has neither seg_classes nor classes')
        palette = meta.get('palette')
        if palette is not None and len(palette) != len(meta['classes']):
            palette = None  # a detection palette of another length
        return cls(meta['classes'], True, palette)

    def to_metainfo(self) -> dict:
        """``dict(seg_classes=..., seg_background=..., seg_palette=...)``
        (``seg_palette`` only when the set has one)."""
        out = dict(seg_classes=self.classes, seg_background=self.background)
        if self.palette is not None:
            out['seg_palette'] = [list(c) for c in self.palette]
        return out

    @property
    def num_classes(self) -> int:
        """Named classes (``len(classes)``)."""
        return len(self.classes)

    @property
    def num_outputs(self) -> int:
        """K: the segmentation head's outputs and the label values used."""
        return num_seg_classes(len(self.classes), self.background)

    @property
    def max_label(self) -> int:
        """Largest valid mask value other than 255: K - 1."""
        return self.num_outputs - 1

    @property
    def names(self) -> tuple:
        """Name of each label value 0..K-1 (``'background'`` first when the
        set has it)."""
        return ((BACKGROUND_NAME, ) if self.background else ()) + self.classes

    def label_of(self, index):
        """Class index ``i`` in ``classes`` -> its mask value (``i + 1``
        with background, ``i`` without); ints, arrays and tensors."""
        return index + 1 if self.background else index

    def index_of(self, label):
        """Mask value -> class index in ``classes`` (-1: background)."""
        return label - 1 if self.background else label

    def follows_detection(self, det_classes: Sequence[str]) -> bool:
        """True for the default set of ``det_classes`` (with background, the
        same classes): masks made from instances, ``c + 1``, are in it."""
        return self.background and self.classes == tuple(det_classes)

    def describe(self) -> str:
        return describe_set(len(self.classes), self.background)

    def drawn_labels(self, sem_seg, ignore_index: int = IGNORE_INDEX):
        """A label map (array or tensor) -> class indices for drawing:
        background and ``ignore_index`` become ``ignore_index`` (not drawn),
        label ``l`` becomes :meth:`index_of` ``(l)``. Returns an int64
        array."""
        data = sem_seg.cpu().numpy() if hasattr(sem_seg, 'cpu') else \
            np.asarray(sem_seg)
        data = data.astype(np.int64)
        hidden = data == ignore_index
        if self.background:
            hidden |= data == BACKGROUND
        return np.where(hidden, ignore_index, self.index_of(data))


def seg_label_set(meta: Mapping) -> SegLabelSet:
    """:meth:`SegLabelSet.from_metainfo`."""
    return SegLabelSet.from_metainfo(meta)
