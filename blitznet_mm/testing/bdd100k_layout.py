"""A small BDD100K in its official layout, written from the real COCO
images of data/samples for tests: the files and encodings are BDD100K's
(``blitznet_mm.datasets.bdd100k``), the content comes from the images'
real COCO instances (boxes of the classes both sets have; drivable area
and lane markings painted from the instance masks, since COCO has none).
"""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
from PIL import Image

from .coco_layouts import instance_masks, owner_map

#: COCO category -> BDD100K det_20 category; the others become
#: 'other vehicle' (a det_20 category outside the 10 classes: skipped)
COCO_TO_BDD = {
    'person': 'pedestrian',
    'bicycle': 'bicycle',
    'car': 'car',
    'motorcycle': 'motorcycle',
    'bus': 'bus',
    'train': 'train',
    'truck': 'truck',
    'traffic light': 'traffic light',
    'stop sign': 'traffic sign'
}


def drivable_map(owner: np.ndarray) -> np.ndarray:
    """Official drivable values: 0 (direct) in the lower third where no
    object is, 1 (alternative) in the band above it, 2 elsewhere."""
    h = owner.shape[0]
    out = np.full(owner.shape, 2, np.uint8)
    free = owner < 0
    out[2 * h // 3:][free[2 * h // 3:]] = 0
    out[h // 2:2 * h // 3][free[h // 2:2 * h // 3]] = 1
    return out


def lane_map(anns: list, masks: list) -> np.ndarray:
    """Official lane values: the outline of each instance (2 px) as a lane
    marking of category ``category_id % 8``, dashed for every other
    instance, vertical when its box is taller than wide; 255 no lane."""
    out = np.full(masks[0].shape if masks else (1, 1), 255, np.uint8)
    kernel = np.ones((5, 5), np.uint8)
    for k, (a, m) in enumerate(zip(anns, masks)):
        m8 = m.astype(np.uint8)
        edge = (m8 - cv2.erode(m8, kernel)).astype(bool)
        w, h = a['bbox'][2:]
        out[edge] = (a['category_id'] % 8) | (k % 2) << 4 | int(h > w) << 5
    return out


def write_bdd100k_layout(coco_root: str,
                         out_root: str,
                         num_val: int = 4,
                         ann: str = 'annotations/instances_train2017.json',
                         images: str = 'train2017') -> dict:
    """``out_root`` = a ``bdd100k`` folder: ``images/100k/{train,val}/``
    (the real images, copied), ``labels/det_20/det_{train,val}.json``
    (Scalabel frames), ``labels/drivable/masks/{train,val}/*.png`` and
    ``labels/lane/masks/{train,val}/*.png`` (official values). The first
    ``num_val`` images of the json are val, the others train.

    Returns:
        dict: split -> {file name: dict(drivable=array, lane=array,
        boxes=[(category, x1, y1, x2, y2)])}.
    """
    with open(osp.join(coco_root, ann)) as f:
        coco = json.load(f)
    cats = {c['id']: c['name'] for c in coco['categories']}
    by_image = {}
    for a in coco['annotations']:
        by_image.setdefault(a['image_id'], []).append(a)
    written = {}
    for i, img in enumerate(coco['images']):
        split = 'val' if i < num_val else 'train'
        dirs = {
            k: osp.join(out_root, *p, split)
            for k, p in (('img', ('images', '100k')),
                         ('drivable', ('labels', 'drivable', 'masks')),
                         ('lane', ('labels', 'lane', 'masks')))
        }
        for d in dirs.values():
            os.makedirs(d, exist_ok=True)
        name = img['file_name']
        shutil.copy(
            osp.join(coco_root, images, name), osp.join(dirs['img'], name))
        h, w = img['height'], img['width']
        anns = by_image.get(img['id'], [])
        drivable = drivable_map(owner_map(anns, h, w))
        lane = lane_map(anns, instance_masks(anns, h, w)) if anns else \
            np.full((h, w), 255, np.uint8)
        stem = osp.splitext(name)[0]
        Image.fromarray(
            drivable,
            mode='L').save(osp.join(dirs['drivable'], stem + '.png'))
        Image.fromarray(
            lane, mode='L').save(osp.join(dirs['lane'], stem + '.png'))
        labels, boxes = [], []
        for k, a in enumerate(anns):
            x, y, bw, bh = a['bbox']
            cat = COCO_TO_BDD.get(cats[a['category_id']], 'other vehicle')
            labels.append(
                dict(
                    id=str(k),
                    category=cat,
                    attributes=dict(
                        occluded=False,
                        truncated=False,
                        trafficLightColor='NA',
                        crowd=bool(a.get('iscrowd', 0))),
                    box2d=dict(x1=x, y1=y, x2=x + bw, y2=y + bh)))
            if cat != 'other vehicle':
                boxes.append((cat, x, y, x + bw, y + bh))
        frame = dict(
            name=name,
            attributes=dict(
                weather='clear', scene='city street', timeofday='daytime'),
            timestamp=10000,
            labels=labels)
        written.setdefault(split, {})[name] = dict(
            drivable=drivable, lane=lane, boxes=boxes, frame=frame)
    det_dir = osp.join(out_root, 'labels', 'det_20')
    os.makedirs(det_dir, exist_ok=True)
    for split, items in written.items():
        with open(osp.join(det_dir, f'det_{split}.json'), 'w') as f:
            json.dump([v['frame'] for v in items.values()], f)
    return written
