"""COCO-Stuff and COCO panoptic layouts written from a real COCO instances
json (its images and instance masks), for tests: the formats are the real
ones, the content is what the instances give (things; COCO's instance
annotations have no stuff, so a stuff region is only written on request).
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, Optional

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from ..datasets.panoptic_png import id_to_rgb

IGNORE = 255


def _load(ann_file: str) -> dict:
    with open(ann_file) as f:
        coco = json.load(f)
    coco['by_image'] = {}
    for a in coco['annotations']:
        coco['by_image'].setdefault(a['image_id'], []).append(a)
    return coco


def instance_masks(anns: list, height: int, width: int) -> list:
    """Each annotation's ``segmentation`` decoded: (H, W) bool arrays
    (pycocotools; polygons merged, RLEs as they are)."""
    out = []
    for a in anns:
        seg = a.get('segmentation')
        if not seg:
            out.append(np.zeros((height, width), bool))
            continue
        if isinstance(seg, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
        elif isinstance(seg['counts'], list):
            rle = mask_utils.frPyObjects(seg, height, width)
        else:
            rle = seg
        out.append(mask_utils.decode(rle).astype(bool))
    return out


def owner_map(anns: list, height: int, width: int) -> np.ndarray:
    """Index into ``anns`` of the instance each pixel shows, -1 where none:
    larger instances first, so a small object on a larger one stays
    visible (the order of BlitzNet's masks from instances)."""
    masks = instance_masks(anns, height, width)
    owner = np.full((height, width), -1, np.int64)
    for i in np.argsort([-int(m.sum()) for m in masks], kind='stable'):
        owner[masks[i]] = i
    return owner


def write_coco_stuff_pngs(ann_file: str,
                          out_dir: str,
                          label_of: Callable[[dict], int],
                          suffix: str = '_labelTrainIds.png',
                          stuff_label: Optional[int] = None) -> Dict[str, str]:
    """Single-channel PNGs in mmseg's coco_stuff164k layout
    (``out_dir/<image stem><suffix>``): pixels of an instance get
    ``label_of(category)`` (the json's category dict), the others 255; with
    ``stuff_label``, the uncovered pixels of the lower half of each image get
    that label instead.

    Returns:
        dict: image file name -> PNG path.
    """
    coco = _load(ann_file)
    cats = {c['id']: c for c in coco['categories']}
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for img in coco['images']:
        h, w = img['height'], img['width']
        anns = coco['by_image'].get(img['id'], [])
        owner = owner_map(anns, h, w)
        lut = np.array([label_of(cats[a['category_id']])
                        for a in anns] + [IGNORE], np.uint8)
        sem = lut[owner]  # owner -1 picks the last entry: 255
        if stuff_label is not None:
            sem[h // 2:][owner[h // 2:] < 0] = stuff_label
        path = osp.join(out_dir, osp.splitext(img['file_name'])[0] + suffix)
        Image.fromarray(sem, mode='L').save(path)
        written[img['file_name']] = path
    return written


def write_coco_panoptic(ann_file: str,
                        out_json: str,
                        png_dir: str,
                        stuff_classes=(),
                        stuff_class: Optional[str] = None) -> dict:
    """A COCO panoptic json and its RGB PNGs (id = R + 256 G + 256^2 B)
    from an instances json: one segment per visible instance (id =
    category id * 1000 + its index + 1; ``iscrowd`` kept; ``bbox`` and
    ``area`` of its visible pixels), void (0) elsewhere. The categories are
    the json's things (``isthing=1``) then ``stuff_classes`` (``isthing=0``,
    ids 1000, 1001, ...: the fixture's own). With ``stuff_class`` (one of
    ``stuff_classes``) the uncovered pixels of the lower half of each image
    are one segment of it.

    Returns:
        dict: the json written.
    """
    coco = _load(ann_file)
    cats = [
        dict(
            id=c['id'],
            name=c['name'],
            isthing=1,
            supercategory=c.get('supercategory', ''))
        for c in coco['categories']
    ]
    stuff_ids = {n: 1000 + i for i, n in enumerate(stuff_classes)}
    cats += [
        dict(id=i, name=n, isthing=0, supercategory='stuff')
        for n, i in stuff_ids.items()
    ]
    os.makedirs(png_dir, exist_ok=True)
    annotations = []
    for img in coco['images']:
        h, w = img['height'], img['width']
        anns = coco['by_image'].get(img['id'], [])
        owner = owner_map(anns, h, w)
        parts = [(a['category_id'] * 1000 + k + 1, a['category_id'],
                  a.get('iscrowd', 0), owner == k) for k, a in enumerate(anns)]
        if stuff_class is not None:
            region = np.zeros((h, w), bool)
            region[h // 2:] = owner[h // 2:] < 0
            cat = stuff_ids[stuff_class]
            parts.append((cat * 1000 + 1, cat, 0, region))
        ids = np.zeros((h, w), np.int64)
        segments = []
        for seg_id, cat, crowd, pixels in parts:
            if not pixels.any():
                continue
            ids[pixels] = seg_id
            ys, xs = np.nonzero(pixels)
            x1, y1 = int(xs.min()), int(ys.min())
            segments.append(
                dict(
                    id=int(seg_id),
                    category_id=int(cat),
                    iscrowd=int(crowd),
                    area=int(pixels.sum()),
                    bbox=[
                        x1, y1,
                        int(xs.max()) - x1 + 1,
                        int(ys.max()) - y1 + 1
                    ]))
        png = osp.splitext(img['file_name'])[0] + '.png'
        Image.fromarray(
            id_to_rgb(ids), mode='RGB').save(osp.join(png_dir, png))
        annotations.append(
            dict(image_id=img['id'], file_name=png, segments_info=segments))
    out = dict(images=coco['images'], annotations=annotations, categories=cats)
    with open(out_json, 'w') as f:
        json.dump(out, f)
    return out


_SPLITS = ('train2017', 'val2017')


def write_things_stuff_layouts(data_root: str, splits=_SPLITS) -> None:
    """What ``configs/blitznet300_coco_stuff.py`` and
    ``configs/blitznet300_coco_panoptic.py`` read, next to a COCO layout in
    ``data_root/coco`` (``annotations/instances_<split>.json``):
    ``data_root/coco_stuff164k/annotations/<split>/*_labelTrainIds.png``
    (the 80 things as mmseg's COCO-Stuff train ids 0..79, 255 elsewhere)
    and ``data_root/coco/annotations/panoptic_<split>.json`` + PNGs (the
    things and COCO panoptic's 53 stuff categories, as mmdet names them)."""
    from mmdet.datasets import CocoPanopticDataset
    from mmseg.datasets import COCOStuffDataset
    stuff_ids = {
        n: i
        for i, n in enumerate(COCOStuffDataset.METAINFO['classes'])
    }
    coco = osp.join(data_root, 'coco', 'annotations')
    for split in splits:
        ann = osp.join(coco, f'instances_{split}.json')
        write_coco_stuff_pngs(
            ann, osp.join(data_root, 'coco_stuff164k', 'annotations', split),
            lambda c: stuff_ids[c['name']])
        write_coco_panoptic(ann, osp.join(coco, f'panoptic_{split}.json'),
                            osp.join(coco, f'panoptic_{split}'),
                            CocoPanopticDataset.METAINFO['stuff_classes'])
