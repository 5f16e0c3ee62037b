"""COCO boxes of the 80 things with COCO-Stuff masks of 171 things + stuff
classes (docs/custom_data.md, "Your own segmentation classes";
docs/data.md)."""
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmseg.datasets import COCOStuffDataset

from .coco import BlitzNetCocoDataset


@DATASETS.register_module()
class BlitzNetCocoStuffDataset(BlitzNetCocoDataset):
    """Boxes from a COCO instances json (the 80 thing classes, mmdet's
    ``CocoDataset`` metainfo) and masks from mmseg's coco_stuff164k layout:
    ``data_prefix['seg']/<image stem>_labelTrainIds.png``, the single-channel
    PNGs mmseg's ``tools/dataset_converters/coco_stuff164k.py`` writes, read
    as they are: values 0..170 are mmseg's ``COCOStuffDataset`` classes (80
    things, then 91 stuff classes), 255 unlabelled. The segmentation set has
    no background class: the head has 171 outputs.

    Every mask is checked when loaded: a value in 171..254 is an error naming
    the PNG, and so is a missing PNG (``LoadBlitzNetAnnotations``).

    Args:
        seg_map_suffix (str): Mask name after the image stem. Defaults to
            '_labelTrainIds.png' (mmseg's converter).
        **kwargs: ``BlitzNetCocoDataset`` arguments; ``data_prefix`` needs
            ``img`` and ``seg``.

    Raises:
        ValueError: ``data_prefix`` has no ``seg`` folder (and
            ``with_sem_seg`` is True), or as ``BlitzNetCocoDataset``.
    """
    METAINFO = dict(
        classes=CocoDataset.METAINFO['classes'],
        palette=CocoDataset.METAINFO['palette'],
        seg_classes=COCOStuffDataset.METAINFO['classes'],
        seg_palette=[tuple(c) for c in COCOStuffDataset.METAINFO['palette']],
        seg_background=False)

    def __init__(self,
                 *args,
                 seg_map_suffix: str = '_labelTrainIds.png',
                 **kwargs) -> None:
        super().__init__(*args, seg_map_suffix=seg_map_suffix, **kwargs)
