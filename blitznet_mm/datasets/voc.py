"""Pascal VOC with optional class-index masks (BLITZNET_SPEC.md Sec. 7-8)."""
import os.path as osp

from mmdet.datasets import VOCDataset
from mmdet.registry import DATASETS


@DATASETS.register_module()
class BlitzNetVOCDataset(VOCDataset):
    """mmdet's ``VOCDataset`` (``Annotations/*.xml``) whose images carry a
    mask when ``data_prefix['seg']`` holds ``<img_id>.png`` (VOC palette PNG
    or SBD-converted PNG: 0 background, 1..20 classes, 255 void).

    An image without a PNG there is boxes-only: ``LoadBlitzNetAnnotations``
    gives it an all-255 mask. With ``seg_required=True`` a missing PNG is an
    error instead (for sets listed as segmentation sets, e.g. VOC12 val).

    Args:
        seg_required (bool): Raise if an image has no mask file.
        **kwargs: mmdet ``VOCDataset`` arguments; ``data_prefix`` may have
            ``sub_data_root`` and ``seg`` (relative to ``data_root``).

    Raises:
        FileNotFoundError: with ``seg_required``, naming the missing PNG.
    """

    def __init__(self, *args, seg_required: bool = False, **kwargs) -> None:
        self.seg_required = seg_required
        super().__init__(*args, **kwargs)

    def parse_data_info(self, img_info: dict) -> dict:
        data_info = super().parse_data_info(img_info)
        seg_dir = self.data_prefix.get('seg')
        data_info['seg_map_path'] = None
        if seg_dir:
            path = osp.join(seg_dir, f"{img_info['img_id']}.png")
            if osp.isfile(path):
                data_info['seg_map_path'] = path
            elif self.seg_required:
                raise FileNotFoundError(
                    f"mask {path} of image {data_info['img_path']} is missing")
        return data_info
