"""COCO with semantic masks made on the fly from the instances
(paper Sec. 4.3; docs/data.md: the union of all instances of a category)."""
import json
import numbers
import os.path as osp

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from ..structures.seg_labels import SegLabelSet
from .validation import NamesBadImages, SkipLog, box_problem, number_problem


def coco_subset(src: str,
                dst: str,
                num_images: int = None,
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
    coco['annotations'] = [
        a for a in coco['annotations'] if a['image_id'] in keep
    ]
    with open(dst, 'w') as f:
        json.dump(coco, f)
    return sorted(keep)


@DATASETS.register_module()
class BlitzNetCocoDataset(NamesBadImages, CocoDataset):
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

    Bad boxes (zero area, inverted, outside the image, under 1 px, values
    that are not finite numbers) and unknown category ids are skipped with
    a warning naming the image, and counted in ``self.skipped``; so are
    polygons under 3 points (the instance keeps its other polygons). A
    missing, empty or malformed annotation file, an RLE of another size
    than its image, and an image that cannot be decoded raise, naming the
    file (docs/reliability.md, "Dataset files").

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
        except (AssertionError, json.JSONDecodeError, KeyError, TypeError,
                ValueError) as e:  # pycocotools asserts a dict
            if str(e).startswith(self.ann_file):
                raise  # ours, naming the annotation
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

    def _annotation_problem(self, ann: dict, img: dict):
        """The skip kind of one annotation (None: train on it): mmdet's own
        drop rules (no overlap with the image, under 1 px, area <= 0) and
        unknown categories, which it would silently drop, and values that
        are not numbers, which would crash it."""
        kind = number_problem(ann.get('bbox'))
        if kind:
            return kind
        x, y, w, h = ann['bbox']
        kind = box_problem([x, y, x + w, y + h], img['width'], img['height'])
        if kind:
            return kind
        if w < 1 or h < 1:
            return 'under_1px_box'
        if not isinstance(ann.get('area'), numbers.Real) or ann['area'] <= 0:
            return 'zero_area'
        if ann.get('category_id') not in self.cat_ids:
            return 'unknown_class'  # mmdet would raise a bare KeyError
        return None

    def _checked_segmentation(self, ann: dict, img: dict) -> dict:
        """``ann`` with polygons too short to rasterise (< 3 points, or an
        odd number of values; pycocotools reads 4 values as a box) dropped,
        counted and warned about; an RLE of another size than the image, or
        a segmentation of neither form, is an error naming the file."""
        seg = ann.get('segmentation')
        where = (f"{self.ann_file}: annotation {ann.get('id')} of image "
                 f"{img['file_name']}")
        if not seg:
            return ann
        if isinstance(seg, dict):
            if 'counts' not in seg or 'size' not in seg:
                raise ValueError(f'{where}: RLE segmentation without counts '
                                 'or size')
            if list(seg['size']) != [img['height'], img['width']]:
                raise ValueError(
                    f"{where}: RLE of size {seg['size']} (h, w) but the "
                    f"image is {img['height']}x{img['width']} (h x w)")
            return ann
        if not isinstance(seg, list):
            raise ValueError(f'{where}: segmentation is neither polygons '
                             f'nor an RLE ({type(seg).__name__})')
        good = [
            p for p in seg
            if isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0
        ]
        if len(good) < len(seg):
            self.skipped.skip(
                img['file_name'], 'short_polygon',
                f"annotation id {ann.get('id')}: "
                f'{len(seg) - len(good)} of {len(seg)} '
                'polygons under 3 points')
            ann = dict(ann, segmentation=good)
        return ann

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
            if ann.get('ignore', False):
                continue  # mmdet's: not an annotation to train on
            kind = self._annotation_problem(ann, img)
            if kind:
                self.skipped.skip(img['file_name'], kind,
                                  f"annotation id {ann.get('id')}")
                continue  # mmdet would drop it silently, or crash
            kept.append(self._checked_segmentation(ann, img))
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
