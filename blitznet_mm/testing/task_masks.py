"""Masks of extra segmentation tasks written from the real instance masks
of a COCO json, for tests of several tasks in one network: a binary
foreground map and a multi-label (bit i = class i) map of overlapping
supercategory regions."""
import json
import os
import os.path as osp
from typing import Dict, Sequence

import numpy as np
from PIL import Image

from .coco_layouts import instance_masks


def write_task_pngs(
    ann_file: str,
    out_dir: str,
    kind: str,
    supercategories: Sequence[str] = ('person', 'vehicle', 'animal'),
    skip=()
) -> Dict[str, np.ndarray]:
    """One single-channel PNG per image of ``ann_file``,
    ``out_dir/<image stem>.png``:

    - ``kind='foreground'``: 1 where any instance (crowd included) covers
      the pixel, 0 elsewhere (a set with background and one class);
    - ``kind='multi_label'``: bit i set where an instance of
      ``supercategories[i]`` covers the pixel: regions of different
      supercategories overlap where their instance masks do (a rider on a
      horse is both).

    Images whose file name is in ``skip`` get no PNG (they lack the task's
    mask).

    Returns:
        dict: image file name -> the written (H, W) uint8 array.
    """
    if kind not in ('foreground', 'multi_label'):
        raise ValueError(f'unknown kind {kind!r}')
    with open(ann_file) as f:
        coco = json.load(f)
    cats = {c['id']: c['supercategory'] for c in coco['categories']}
    by_image = {}
    for a in coco['annotations']:
        by_image.setdefault(a['image_id'], []).append(a)
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for img in coco['images']:
        if img['file_name'] in skip:
            continue
        h, w = img['height'], img['width']
        anns = by_image.get(img['id'], [])
        out = np.zeros((h, w), np.uint8)
        for a, m in zip(anns, instance_masks(anns, h, w)):
            if kind == 'foreground':
                out[m] = 1
            elif cats[a['category_id']] in supercategories:
                out[m] |= np.uint8(
                    1 << list(supercategories).index(cats[a['category_id']]))
        Image.fromarray(
            out, mode='L').save(
                osp.join(out_dir,
                         osp.splitext(img['file_name'])[0] + '.png'))
        written[img['file_name']] = out
    return written
