"""Pascal VOC with optional class-index masks (paper Sec. 4.1;
docs/data.md)."""
import logging
import math
import os.path as osp
import xml.etree.ElementTree as ET

import numpy as np
from mmdet.datasets import VOCDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log
from PIL import Image

from .validation import NamesBadImages, SkipLog, box_problem


def voc_palette() -> list:
    """The 256-colour Pascal VOC palette as a flat RGB list."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def save_palette_png(label: np.ndarray, path: str) -> None:
    """Write an (H, W) uint8 class map as a palette PNG."""
    img = Image.fromarray(label.astype(np.uint8), mode='P')
    img.putpalette(voc_palette())
    img.save(path)


def voc_int_id(img_id: str) -> int:
    """Integer image id for COCO-style evaluation: '2008_000123' ->
    2008000123, '000005' -> 5 (used by the converter and the dataset)."""
    digits = img_id.replace('_', '')
    if not digits.isdigit():
        raise ValueError(f'VOC image id {img_id!r} is not numeric')
    return int(digits)


@DATASETS.register_module()
class BlitzNetVOCDataset(NamesBadImages, VOCDataset):
    """mmdet's ``VOCDataset`` (``Annotations/*.xml``) whose images carry a
    mask when ``data_prefix['seg']`` (the official ``SegmentationClass``
    palette PNGs) or, failing that, ``data_prefix['seg_aug']`` (the
    SBD-converted ``SegmentationClassAug`` PNGs) holds ``<img_id>.png``
    (0 background, 1..20 classes, 255 void).

    A set with a mask folder is a segmentation set: its images without a
    PNG are counted (``self.num_missing_masks``) and reported in one warning
    that names an example file; they stay boxes-only (an all-255 mask from
    ``LoadBlitzNetAnnotations``, never background). With
    ``seg_required=True`` a missing PNG is an error instead.

    VOC "difficult" objects are training targets, as in the authors' code
    (``train_difficult=True``); in ``test_mode`` they stay flagged as
    ignored, so ``VOCMetric`` ignores them as the VOC protocol does.
    Objects of unknown classes and bad boxes (empty, outside the image, a
    coordinate missing or not a finite number) are skipped with a warning
    naming the XML file, and counted in ``self.skipped``.

    Args:
        seg_required (bool): Raise if an image of a set with a mask folder
            has no mask file.
        train_difficult (bool): Train on difficult objects (not in
            ``test_mode``). Defaults to True (authors' code); False gives
            mmdet's behaviour (ignored).
        int_img_ids (bool): Give ``img_id`` as an integer
            (:func:`voc_int_id`), matching the json written by
            ``tools/dataset_converters/voc_to_coco.py`` for ``CocoMetric``.
        **kwargs: mmdet ``VOCDataset`` arguments; ``data_prefix`` may have
            ``sub_data_root`` and ``seg`` (relative to ``data_root``).

    Raises:
        FileNotFoundError: the image list, an XML file or (with
            ``seg_required``) a mask is missing.
        ValueError: the image list is empty or an XML file is malformed.
    """

    def __init__(self,
                 *args,
                 seg_required: bool = False,
                 train_difficult: bool = True,
                 int_img_ids: bool = False,
                 **kwargs) -> None:
        self.seg_required = seg_required
        self.train_difficult = train_difficult
        self.missing_masks = []
        self.int_img_ids = int_img_ids
        self.skipped = SkipLog(type(self).__name__)
        super().__init__(*args, **kwargs)

    def load_data_list(self):
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{self.ann_file}: image list not found')
        self.missing_masks = []
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(f'{self.ann_file}: the image list is empty')
        self.skipped.summary()
        if self.missing_masks:
            print_log(
                f'{type(self).__name__}: {len(self.missing_masks)} of '
                f'{len(data_list)} images of {self.ann_file} have no mask '
                f'(e.g. {self.missing_masks[0]}); they are trained on boxes '
                'only. seg_required=True makes this an error.',
                logger='current',
                level=logging.WARNING)
        return data_list

    @property
    def num_missing_masks(self) -> int:
        return len(self.missing_masks)

    def parse_data_info(self, img_info: dict) -> dict:
        xml = img_info['xml_path']
        if not osp.isfile(xml):
            raise FileNotFoundError(f'{xml}: annotation file not found')
        self._xml = xml
        try:
            data_info = super().parse_data_info(img_info)
        except ET.ParseError as e:
            raise ValueError(f'{xml}: malformed XML ({e})') from e
        except (AttributeError, TypeError, ValueError) as e:
            if str(e).startswith(xml):
                raise
            # e.g. <size> without <width>, or width 'abc' (mmdet's int())
            raise ValueError(f'{xml}: malformed annotation '
                             f'({type(e).__name__}: {e})') from e
        w, h = data_info['width'], data_info['height']
        kept = []
        for inst in data_info['instances']:
            kind = box_problem(inst['bbox'], w, h)
            if kind:
                self.skipped.skip(xml, kind, f"box {inst['bbox']}")
            else:
                kept.append(inst)
        if self.train_difficult and not self.test_mode:
            for inst in kept:
                inst['ignore_flag'] = 0
        data_info['instances'] = kept
        if self.int_img_ids:
            data_info['img_id'] = voc_int_id(img_info['img_id'])
        data_info['seg_map_path'] = None
        dirs = [
            self.data_prefix[k] for k in ('seg', 'seg_aug')
            if self.data_prefix.get(k)
        ]
        if dirs:
            paths = [osp.join(d, f"{img_info['img_id']}.png") for d in dirs]
            found = [p for p in paths if osp.isfile(p)]
            if found:
                data_info['seg_map_path'] = found[0]
                data_info['max_seg_label'] = len(self._metainfo['classes'])
            elif self.seg_required:
                raise FileNotFoundError(
                    f"no mask for image {data_info['img_path']}: looked for "
                    f"{' and '.join(paths)}")
            else:
                self.missing_masks.append(paths[0])
        return data_info

    def _parse_instance_info(self, raw_ann_info, minus_one: bool = True):
        classes = self._metainfo['classes']
        for obj in raw_ann_info.findall('object'):
            name = obj.find('name')
            if name is None or obj.find('bndbox') is None:
                raise ValueError(f'{self._xml}: an <object> lacks <name> or '
                                 '<bndbox>')
            if name.text not in classes:
                self.skipped.skip(self._xml, 'unknown_class',
                                  f'name {name.text!r}')
                continue
            kind = _bndbox_problem(obj.find('bndbox'))
            if kind:
                self.skipped.skip(self._xml, kind, f'object {name.text!r}')
                raw_ann_info.getroot().remove(obj)  # int(float()) raises
        return super()._parse_instance_info(raw_ann_info, minus_one)


def _bndbox_problem(bndbox) -> str:
    """``'malformed_box'`` (a coordinate missing), ``'not_a_number'`` or
    ``'not_finite'`` for a VOC ``<bndbox>``, else ''."""
    for key in ('xmin', 'ymin', 'xmax', 'ymax'):
        node = bndbox.find(key)
        if node is None or node.text is None:
            return 'malformed_box'
        try:
            value = float(node.text)
        except ValueError:
            return 'not_a_number'
        if not math.isfinite(value):
            return 'not_finite'
    return ''
