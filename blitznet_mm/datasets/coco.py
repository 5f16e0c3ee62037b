"""COCO with semantic masks made on the fly from the instances
(paper Sec. 4.3; docs/data.md: the union of all instances of a category)."""
import json
import os.path as osp

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from ..structures.seg_labels import SegLabelSet
from .validation import SkipLog, box_problem


def coco_subset(src: str, dst: str, num_images: int = None,
                image_ids=None) -> list:
    """Write a COCO instances json keeping some images of ``src``: the given
    ``image_ids``, or the first ``num_images`` by id. mmdet's CocoMetric
    scores every image of its json, so a subset evaluation needs one.

    Returns:
        list[int]: the kept image ids.
    """
    with open(src) as f:
        coco = json.load(f)
    ids = sorted(i['id'] for i in coco['images'])
    keep = set(image_ids) if image_ids is not None else set(ids[:num_images])
    coco['images'] = [i for i in coco['images'] if i['id'] in keep]
    coco['annotations'] = [a for a in coco['annotations']
                           if a['image_id'] in keep]
    with open(dst, 'w') as f:
        json.dump(coco, f)
    return sorted(keep)


@DATASETS.register_module()
class BlitzNetCocoDataset(CocoDataset):
    """mmdet's ``CocoDataset`` whose images also carry a semantic mask.

    ``LoadBlitzNetAnnotations`` rasterises every instance (crowd regions
    included, as the paper) into class ``label + 1``; background is 0. When
    ``data_prefix['seg']`` names a folder of PNGs (``<image stem>`` +
    ``seg_map_suffix``), those are used instead, checked against the
    segmentation label set (a value above its largest label other than
    255 is an error naming the PNG).

    The segmentation set is the detection classes with background unless
    ``metainfo`` states its own (``seg_classes``, ``seg_background``,
    ``seg_palette``; ``blitznet_mm.structures.seg_labels``). Masks from
    instances follow the detection classes, so a set of its own needs PNG
    masks (``data_prefix['seg']``) or ``with_sem_seg=False``.

    Bad boxes (zero area, inverted, outside the image) and unknown category
    ids are skipped with a warning naming the image, and counted in
    ``self.skipped``; a missing, empty or malformed annotation file raises.

    Args:
        with_sem_seg (bool): Give images a semantic mask (from the PNG
            folder, else from their instances). False makes the set
            boxes-only (its masks are all-ignore).
        **kwargs: mmdet ``CocoDataset`` arguments (``ann_file``,
            ``data_root``, ``data_prefix``, ``filter_cfg``, ``pipeline`` ...).

    Raises:
        FileNotFoundError: the annotation file does not exist.
        ValueError: it is empty, not JSON, or not COCO instances; or the
            set has segmentation classes of its own and masks would be
            made from instances.
    """

    def __init__(self, *args, with_sem_seg: bool = True, **kwargs) -> None:
        self.with_sem_seg = with_sem_seg
        self.skipped = SkipLog(type(self).__name__)
        super().__init__(*args, **kwargs)

    def load_data_list(self):
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{self.ann_file}: annotation file does not exist')
        self._check_mask_source()
        try:
            data_list = super().load_data_list()
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f'{self.ann_file}: not a COCO instances file '
                             f'({type(e).__name__}: {e})') from e
        if not data_list:
            raise ValueError(f'{self.ann_file}: no images')
        self.skipped.summary()
        return data_list

    @property
    def seg_label_set(self) -> SegLabelSet:
        """The segmentation label set of the metainfo."""
        return SegLabelSet.from_metainfo(self._metainfo)

    def _check_mask_source(self) -> None:
        labels = self.seg_label_set
        if self.with_sem_seg and not self.data_prefix.get('seg') and \
                not labels.follows_detection(self._metainfo['classes']):
            raise ValueError(
                f'{type(self).__name__} ({self.ann_file}): its segmentation '
                f'classes are its own ({labels.describe()}), but masks made '
                'from instances follow the detection classes (0 background, '
                "c + 1); give data_prefix['seg'] (PNG masks) or "
                'with_sem_seg=False')

    def parse_data_info(self, raw_data_info: dict) -> dict:
        img = raw_data_info['raw_img_info']
        kept = []
        for ann in raw_data_info['raw_ann_info']:
            x, y, w, h = ann['bbox']
            kind = box_problem([x, y, x + w, y + h], img['width'],
                               img['height'])
            if ann['category_id'] not in self.cat_ids:
                kind = 'unknown_class'  # mmdet would raise a bare KeyError
            if kind:
                self.skipped.skip(img['file_name'], kind,
                                  f"annotation id {ann.get('id')}")
            if kind != 'unknown_class':
                kept.append(ann)  # mmdet drops bad boxes itself
        raw_data_info = dict(raw_data_info, raw_ann_info=kept)
        data_info = super().parse_data_info(raw_data_info)
        labels = self.seg_label_set
        data_info['sem_seg_from_instances'] = self.with_sem_seg
        data_info['seg_background'] = labels.background
        if not self.with_sem_seg:
            data_info['seg_map_path'] = None
        elif data_info.get('seg_map_path'):
            data_info['max_seg_label'] = labels.max_label
        return data_info
