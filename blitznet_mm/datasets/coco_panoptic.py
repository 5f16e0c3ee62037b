"""COCO panoptic annotations (mmdet's layout) as BlitzNet's boxes and
semantic map (docs/custom_data.md, "Your own segmentation classes";
docs/data.md)."""
import json
import logging
import os.path as osp

from mmdet.datasets import BaseDetDataset, CocoPanopticDataset
from mmdet.registry import DATASETS
from mmdet.visualization.palette import get_palette
from mmengine.logging import print_log

from ..structures.seg_labels import IGNORE_INDEX
from .validation import NamesBadImages, SkipLog, box_problem, number_problem

_MMDET = CocoPanopticDataset.METAINFO
_MMDET_COLOURS = dict(zip(_MMDET['classes'], _MMDET['palette']))


def panoptic_categories(cats: list, ann_file: str) -> dict:
    """The label sets of a panoptic json's ``categories`` (in file order):
    ``seg_classes`` all names (label = index), ``classes`` the thing
    names (detection label = index among things), the colours (the json's
    ``color``, else mmdet's for that name, else mmdet's random palette),
    and ``seg_label`` / ``det_label``: category id -> label.

    Raises:
        ValueError: naming ``ann_file``, for a category without ``id``,
            ``name`` or ``isthing``, a repeated id, or more than 255.
    """
    if not cats:
        raise ValueError(f'{ann_file}: no categories')
    if len(cats) >= IGNORE_INDEX:
        raise ValueError(f'{ann_file}: {len(cats)} categories; a uint8 map '
                         f'holds at most {IGNORE_INDEX}')
    fallback = get_palette('random', len(cats))
    names, colours, things, seg_label, det_label = [], [], [], {}, {}
    for i, c in enumerate(cats):
        if not {'id', 'name', 'isthing'} <= set(c):
            raise ValueError(f'{ann_file}: category {c} lacks id, name or '
                             'isthing')
        if c['id'] in seg_label:
            raise ValueError(f"{ann_file}: category id {c['id']} repeated")
        seg_label[c['id']] = i
        names.append(c['name'])
        colours.append(
            tuple(
                c.get('color') or _MMDET_COLOURS.get(c['name'], fallback[i])))
        if c['isthing']:
            det_label[c['id']] = len(things)
            things.append(i)
    return dict(
        classes=tuple(names[i] for i in things),
        palette=[colours[i] for i in things],
        seg_classes=tuple(names),
        seg_palette=colours,
        seg_background=False,
        seg_label=seg_label,
        det_label=det_label)


@DATASETS.register_module()
class BlitzNetCocoPanopticDataset(NamesBadImages, BaseDetDataset):
    """Boxes and a semantic map from COCO panoptic annotations in mmdet's
    layout (``configs/_base_/datasets/coco_panoptic.py``:
    ``annotations/panoptic_{train,val}2017.json`` and the PNGs in
    ``annotations/panoptic_{train,val}2017/``), without panopticapi.

    The label sets come from the json's ``categories``, in file order: the
    segmentation classes are all of them (label = index, no background:
    133 for COCO, things then stuff, as mmdet's ``CocoPanopticDataset``),
    the detection classes the ``isthing`` ones. Thing segments give boxes;
    crowd segments are ignored boxes (``ignore_flag=1``, as mmdet's). Every
    segment, crowd included, paints its category into the semantic map
    (``LoadBlitzNetAnnotations`` decodes the PNG, id = R + 256 G + 256^2 B);
    void pixels are 255. Bad boxes (empty, outside the image, values that
    are not finite numbers) are skipped with a warning naming the
    image and counted in ``self.skipped``; an image without an annotation
    entry has no boxes and an all-255 mask.

    Args:
        with_sem_seg (bool): Decode the semantic map. False makes the set
            boxes-only (masks all 255). Defaults to True.
        **kwargs: mmdet ``BaseDetDataset`` arguments (``ann_file``,
            ``data_root``, ``data_prefix=dict(img=..., seg=...)``,
            ``filter_cfg``, ``pipeline`` ...). ``metainfo`` may name
            ``classes`` / ``seg_classes``; they must equal the json's.

    Raises:
        FileNotFoundError: the json does not exist.
        ValueError: naming the json, when it is not panoptic, its categories
            are malformed or differ from a stated metainfo, or a segment
            names an unknown category.
    """
    METAINFO = dict(
        classes=_MMDET['thing_classes'],
        palette=_MMDET['palette'][:len(_MMDET['thing_classes'])],
        seg_classes=_MMDET['classes'],
        seg_palette=_MMDET['palette'],
        seg_background=False)

    def __init__(self, *args, with_sem_seg: bool = True, **kwargs) -> None:
        self.with_sem_seg = with_sem_seg
        self.skipped = SkipLog(type(self).__name__)
        self._stated = {
            k: tuple(v)
            for k, v in (kwargs.get('metainfo') or {}).items()
            if k in ('classes', 'seg_classes')
        }
        super().__init__(*args, **kwargs)

    def _read(self) -> dict:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{self.ann_file}: annotation file does not exist')
        try:
            with open(self.ann_file) as f:
                pan = json.load(f)
            pan['images'], pan['annotations'], pan['categories']
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f'{self.ann_file}: not a COCO panoptic file '
                             f'({type(e).__name__}: {e})') from e
        return pan

    def load_data_list(self) -> list:
        pan = self._read()
        sets = panoptic_categories(pan['categories'], self.ann_file)
        for key, names in self._stated.items():
            if names != sets[key]:
                raise ValueError(
                    f'{self.ann_file}: metainfo {key} ({len(names)}) differ '
                    f'from the json categories ({len(sets[key])}); leave '
                    'them out, the json states them')
        self._metainfo.update({
            k: v
            for k, v in sets.items() if k not in ('seg_label', 'det_label')
        })
        data_list, unannotated = [], 0
        try:
            anns = {a['image_id']: a for a in pan['annotations']}
            for img in pan['images']:
                ann = anns.get(img['id'])
                unannotated += ann is None
                data_list.append(self._parse(img, ann, sets))
        except (KeyError, TypeError) as e:  # a field missing or mistyped
            raise ValueError(f'{self.ann_file}: not a COCO panoptic file '
                             f'({type(e).__name__}: {e})') from e
        if not data_list:
            raise ValueError(f'{self.ann_file}: no images')
        if unannotated:
            print_log(
                f'{type(self).__name__}: {unannotated} images of '
                f'{self.ann_file} have no annotation entry (no boxes, '
                'mask all 255)',
                logger='current',
                level=logging.WARNING)
        self.skipped.summary()
        return data_list

    def _parse(self, img: dict, ann, sets: dict) -> dict:
        info = dict(
            img_path=osp.join(
                self.data_prefix.get('img', ''), img['file_name']),
            img_id=img['id'],
            height=img['height'],
            width=img['width'],
            seg_map_path=None,
            seg_background=False,
            instances=[])
        if ann is None:
            return info
        segments = []
        for s in ann['segments_info']:
            cat = s.get('category_id')
            if cat not in sets['seg_label']:
                raise ValueError(f"{self.ann_file}: segment {s.get('id')} of "
                                 f"image {img['file_name']} has category "
                                 f'{cat}, not in the categories')
            segments.append(dict(id=s['id'], label=sets['seg_label'][cat]))
            if cat not in sets['det_label']:
                continue
            kind = number_problem(s.get('bbox'))
            if not kind:
                x, y, w, h = s['bbox']
                kind = box_problem([x, y, x + w, y + h], img['width'],
                                   img['height'])
            if kind:
                self.skipped.skip(ann['file_name'], kind, f"segment {s['id']}")
                continue
            info['instances'].append(
                dict(
                    bbox=[x, y, x + w, y + h],
                    bbox_label=sets['det_label'][cat],
                    ignore_flag=int(bool(s.get('iscrowd', 0)))))
        if self.with_sem_seg:
            info.update(
                panoptic_map_path=osp.join(
                    self.data_prefix.get('seg', ''), ann['file_name']),
                panoptic_segments=segments)
        return info

    def filter_data(self) -> list:
        """``filter_cfg``: ``filter_empty_gt`` drops images without a
        non-crowd thing box, ``min_size`` smaller images (not in
        ``test_mode``)."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        empty = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        return [
            d for d in self.data_list
            if min(d['width'], d['height']) >= min_size
            and not (empty and not any(i['ignore_flag'] == 0
                                       for i in d['instances']))
        ]
