"""BDD100K in its official layout (docs/multi_task.md): boxes of the 10
detection classes, the drivable area as the first segmentation task and
lane markings as a multi-label second task.

Official files (BDD100K toolkit, ``bdd100k/label/label.py`` and
``to_mask.py``)::

    bdd100k/images/100k/{train,val}/<name>.jpg
    bdd100k/labels/det_20/det_{train,val}.json       Scalabel frames
    bdd100k/labels/drivable/masks/{train,val}/<name>.png
        0 direct, 1 alternative, 2 background (every pixel has a class)
    bdd100k/labels/lane/masks/{train,val}/<name>.png
        255 no lane; else category (bits 0-2: crosswalk, double other,
        double white, double yellow, road curb, single other, single
        white, single yellow) + style << 4 (dashed) + direction << 5
        (vertical)

:func:`convert_bdd100k` (``tools/dataset_converters/bdd100k_to_coco.py``)
writes the detection json as COCO (``det_{split}_coco.json``) and the lane
masks as multi-label PNGs (``labels/lane/multi_label/{split}/``, bit i =
class i of :data:`LANE_CLASSES`) with :func:`bdd_det_to_coco` and
:func:`convert_lane_masks`.
"""
import json
import os
import os.path as osp
from typing import Dict

import numpy as np
from mmdet.registry import DATASETS
from PIL import Image

from .seg_tasks import BlitzNetMultiTaskCocoDataset

#: det_20's detection classes, in the toolkit's order
DET_CLASSES = ('pedestrian', 'rider', 'car', 'truck', 'bus', 'train',
               'motorcycle', 'bicycle', 'traffic light', 'traffic sign')
DET_PALETTE = [(220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70),
               (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
               (250, 170, 30), (220, 220, 0)]
#: the drivable-area PNG values 0, 1, 2 (a set without a background flag:
#: "background" is a named class, value 2)
DRIVABLE_CLASSES = ('direct', 'alternative', 'background')
DRIVABLE_PALETTE = [(219, 94, 86), (86, 211, 219), (0, 0, 0)]
#: the multi-label lane task: a pixel of a lane marking, of a dashed one,
#: of a vertical (crossing) one; they overlap
LANE_CLASSES = ('lane marking', 'dashed', 'vertical')
LANE_PALETTE = [(255, 255, 255), (255, 200, 0), (0, 200, 255)]
LANE_NONE = 255


def bdd_det_to_coco(det_json: str, image_dir: str, out_json: str) -> dict:
    """A BDD100K ``det_20`` json (Scalabel frames: ``name``, ``labels`` with
    ``category``, ``box2d`` {x1, y1, x2, y2} in pixels, ``attributes``
    ``crowd``) -> a COCO instances json over :data:`DET_CLASSES` (ids
    1..10). Image sizes are read from ``image_dir/<name>``; a frame whose
    image is missing is an error, labels of other categories (or without
    ``box2d``: lane and drivable polygons) are skipped and counted.

    Returns:
        dict: ``images``, ``boxes`` and ``skipped`` counts.

    Raises:
        FileNotFoundError: the json or an image is missing.
        ValueError: the json is not a list of frames, naming the file.
    """
    with open(det_json) as f:
        frames = json.load(f)
    if isinstance(frames, dict) and 'frames' in frames:
        frames = frames['frames']  # Scalabel's dataset form
    if not isinstance(frames, list):
        raise ValueError(f'{det_json}: not a BDD100K (Scalabel) list of '
                         'frames')
    cat_ids = {n: i + 1 for i, n in enumerate(DET_CLASSES)}
    images, annotations, skipped = [], [], 0
    for img_id, frame in enumerate(frames, 1):
        path = osp.join(image_dir, frame['name'])
        if not osp.isfile(path):
            raise FileNotFoundError(f'{det_json}: image {path} of frame '
                                    f'{frame["name"]} is missing')
        with Image.open(path) as im:
            width, height = im.size
        images.append(
            dict(
                id=img_id, file_name=frame['name'], width=width,
                height=height))
        for label in frame.get('labels') or ():
            box = label.get('box2d')
            if box is None or label.get('category') not in cat_ids:
                skipped += 1
                continue
            w, h = box['x2'] - box['x1'], box['y2'] - box['y1']
            attrs = label.get('attributes') or {}
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=img_id,
                    category_id=cat_ids[label['category']],
                    bbox=[box['x1'], box['y1'], w, h],
                    area=w * h,
                    iscrowd=int(bool(attrs.get('crowd', False)))))
    coco = dict(
        images=images,
        annotations=annotations,
        categories=[dict(id=i, name=n) for n, i in cat_ids.items()])
    os.makedirs(osp.dirname(osp.abspath(out_json)), exist_ok=True)
    with open(out_json, 'w') as f:
        json.dump(coco, f)
    return dict(images=len(images), boxes=len(annotations), skipped=skipped)


def lane_mask_to_multi_label(mask: np.ndarray) -> np.ndarray:
    """An official lane mask (H, W) uint8 -> the multi-label PNG values of
    :data:`LANE_CLASSES`: bit 0 any lane marking, bit 1 dashed (style bit
    4), bit 2 vertical (direction bit 5); 0 where there is no lane (255)."""
    lane = mask != LANE_NONE
    dashed = lane & ((mask >> 4) & 1).astype(bool)
    vertical = lane & ((mask >> 5) & 1).astype(bool)
    return (lane.astype(np.uint8) | dashed.astype(np.uint8) << 1
            | vertical.astype(np.uint8) << 2)


def convert_lane_masks(src_dir: str, dst_dir: str) -> int:
    """:func:`lane_mask_to_multi_label` of every PNG of ``src_dir`` into
    ``dst_dir`` (same names). Returns the number written.

    Raises:
        ValueError: a PNG that is not single-channel, naming it.
    """
    os.makedirs(dst_dir, exist_ok=True)
    n = 0
    for name in sorted(os.listdir(src_dir)):
        if not name.endswith('.png'):
            continue
        mask = np.asarray(Image.open(osp.join(src_dir, name)))
        if mask.ndim != 2:
            raise ValueError(f'{osp.join(src_dir, name)}: a lane mask is '
                             'single-channel')
        Image.fromarray(
            lane_mask_to_multi_label(mask),
            mode='L').save(osp.join(dst_dir, name))
        n += 1
    return n


def convert_bdd100k(root: str, splits=('train', 'val')) -> dict:
    """Convert every split of ``root`` (the bdd100k folder: images/,
    labels/) that has a detection json, with :func:`bdd_det_to_coco` and
    :func:`convert_lane_masks` (module docstring: the files written).

    Returns:
        dict: split -> counts (images, boxes, skipped labels, lane masks).

    Raises:
        FileNotFoundError: no split of ``root`` has a detection json.
    """
    done = {}
    for split in splits:
        det = osp.join(root, 'labels', 'det_20', f'det_{split}.json')
        if not osp.isfile(det):
            continue
        stats = bdd_det_to_coco(
            det, osp.join(root, 'images', '100k', split),
            osp.join(root, 'labels', 'det_20', f'det_{split}_coco.json'))
        lanes = osp.join(root, 'labels', 'lane', 'masks', split)
        if osp.isdir(lanes):
            stats['lane masks'] = convert_lane_masks(
                lanes, osp.join(root, 'labels', 'lane', 'multi_label', split))
        done[split] = stats
    if not done:
        raise FileNotFoundError(f'{root}: no labels/det_20/det_<split>.json '
                                f'for the splits {list(splits)}')
    return done


@DATASETS.register_module()
class BlitzNetBDD100KDataset(BlitzNetMultiTaskCocoDataset):
    """BDD100K: boxes of :data:`DET_CLASSES` from the converted det json,
    the drivable-area PNGs as they are (``data_prefix['seg']``, 3 classes,
    no background flag) and, by default, the multi-label ``lane`` task
    (``data_prefix['lane']``, :data:`LANE_CLASSES`).

    Args:
        seg_tasks (dict, optional): Defaults to the lane task; ``{}`` for
            drivable area only.
        **kwargs: ``BlitzNetMultiTaskCocoDataset`` arguments.
    """
    METAINFO = dict(
        classes=DET_CLASSES,
        palette=DET_PALETTE,
        seg_classes=DRIVABLE_CLASSES,
        seg_palette=DRIVABLE_PALETTE,
        seg_background=False)

    def __init__(self,
                 *args,
                 seg_tasks: Dict[str, dict] = None,
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        if seg_tasks is None:
            seg_tasks = dict(
                lane=dict(
                    classes=LANE_CLASSES,
                    multi_label=True,
                    palette=LANE_PALETTE))
        super().__init__(
            *args,
            seg_tasks=seg_tasks,
            seg_map_suffix=seg_map_suffix,
            **kwargs)
