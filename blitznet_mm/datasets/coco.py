"""COCO with semantic masks made on the fly from the instances
(BLITZNET_SPEC.md Sec. 8: the union of all instances of a category)."""
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS


@DATASETS.register_module()
class BlitzNetCocoDataset(CocoDataset):
    """mmdet's ``CocoDataset`` whose images also carry a semantic mask.

    ``LoadBlitzNetAnnotations`` rasterises every instance (crowd regions
    included, as the paper) into class ``label + 1``; background is 0. When
    ``data_prefix['seg']`` names a folder of PNGs, those are used instead.

    Args:
        with_sem_seg (bool): Give images a semantic mask from their instances.
            False makes the set boxes-only (its masks are all-ignore).
        **kwargs: mmdet ``CocoDataset`` arguments (``ann_file``,
            ``data_root``, ``data_prefix``, ``filter_cfg``, ``pipeline`` ...).
    """

    def __init__(self, *args, with_sem_seg: bool = True, **kwargs) -> None:
        self.with_sem_seg = with_sem_seg
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> dict:
        data_info = super().parse_data_info(raw_data_info)
        data_info['sem_seg_from_instances'] = self.with_sem_seg
        return data_info
