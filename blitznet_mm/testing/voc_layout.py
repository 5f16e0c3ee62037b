"""Build a VOC-layout dataset from the real coco_mini images: XML files with
the 20 VOC classes and palette PNG masks with a 255 border, as VOC has."""
import json
import os
import os.path as osp

import cv2
import numpy as np
from pycocotools import mask as mask_utils

COCO_TO_VOC = {
    'airplane': 'aeroplane',
    'bicycle': 'bicycle',
    'bird': 'bird',
    'boat': 'boat',
    'bottle': 'bottle',
    'bus': 'bus',
    'car': 'car',
    'cat': 'cat',
    'chair': 'chair',
    'cow': 'cow',
    'dining table': 'diningtable',
    'dog': 'dog',
    'horse': 'horse',
    'motorcycle': 'motorbike',
    'person': 'person',
    'potted plant': 'pottedplant',
    'sheep': 'sheep',
    'couch': 'sofa',
    'train': 'train',
    'tv': 'tvmonitor'
}
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
               'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
               'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
               'tvmonitor')


def _xml(img_id, w, h, objects):
    objs = ''.join(f'<object><name>{n}</name><difficult>0</difficult><bndbox>'
                   f'<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>'
                   f'<ymax>{y2}</ymax></bndbox></object>'
                   for n, (x1, y1, x2, y2) in objects)
    return (f'<annotation><filename>{img_id}.jpg</filename><size>'
            f'<width>{w}</width><height>{h}</height><depth>3</depth></size>'
            f'{objs}</annotation>')


def build_voc_fixture(coco_mini: str,
                      root: str,
                      num_images: int = 12,
                      with_mask_every: int = 2) -> dict:
    """Writes ``root/VOC2012/{JPEGImages,Annotations,SegmentationClass,
    ImageSets}``; every ``with_mask_every``-th image gets a mask.

    Returns dict(ids=[...], masked=[...], objects={id: [(name, box)]}).
    """
    from blitznet_mm.datasets.transforms import instances_to_semantic
    from blitznet_mm.datasets.voc import save_palette_png
    with open(osp.join(coco_mini, 'annotations',
                       'instances_train2017.json')) as f:
        coco = json.load(f)
    cats = {c['id']: c['name'] for c in coco['categories']}
    anns = {}
    for a in coco['annotations']:
        anns.setdefault(a['image_id'], []).append(a)
    voc = osp.join(root, 'VOC2012')
    for d in ('JPEGImages', 'Annotations', 'SegmentationClass',
              'ImageSets/Main', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(voc, d), exist_ok=True)
    ids, masked, objects = [], [], {}
    for img in sorted(coco['images'], key=lambda i: i['id']):
        keep = [
            a for a in anns.get(img['id'], [])
            if cats[a['category_id']] in COCO_TO_VOC and not a['iscrowd']
        ]
        if not keep:
            continue
        img_id = f"2017_{img['id']:06d}"
        w, h = img['width'], img['height']
        os.symlink(
            osp.join(coco_mini, 'train2017', img['file_name']),
            osp.join(voc, 'JPEGImages', img_id + '.jpg'))
        objs = []
        for a in keep:
            x, y, bw, bh = a['bbox']
            # VOC boxes are 1-based inclusive pixel indices
            objs.append((COCO_TO_VOC[cats[a['category_id']]],
                         (int(x) + 1, int(y) + 1, int(x + bw), int(y + bh))))
        with open(osp.join(voc, 'Annotations', img_id + '.xml'), 'w') as f:
            f.write(_xml(img_id, w, h, objs))
        objects[img_id] = objs
        if len(ids) % with_mask_every == 0:
            masks, labels = [], []
            for a in keep:
                rle = mask_utils.frPyObjects(a['segmentation'], h, w)
                masks.append(mask_utils.decode(mask_utils.merge(rle)))
                labels.append(
                    VOC_CLASSES.index(COCO_TO_VOC[cats[a['category_id']]]) + 1)
            sem = instances_to_semantic(masks, labels, h, w)
            edges = np.zeros((h, w), bool)
            for m in masks:  # VOC's void border around every object
                m = m.astype(np.uint8)
                k = np.ones((5, 5), np.uint8)
                edges |= (cv2.dilate(m, k) - cv2.erode(m, k)) > 0
            sem[edges] = 255
            save_palette_png(
                sem, osp.join(voc, 'SegmentationClass', img_id + '.png'))
            masked.append(img_id)
        ids.append(img_id)
        if len(ids) == num_images:
            break
    with open(osp.join(voc, 'ImageSets/Main/trainval.txt'), 'w') as f:
        f.write('\n'.join(ids) + '\n')
    with open(osp.join(voc, 'ImageSets/Segmentation/train.txt'), 'w') as f:
        f.write('\n'.join(masked) + '\n')
    return dict(ids=ids, masked=masked, objects=objects)


def build_vocdevkit(coco_mini: str, root: str) -> dict:
    """A VOCdevkit as the joint-VOC configs expect it, from the real images:
    ``VOC2007`` (Main/trainval.txt, Main/test.txt, boxes only) and
    ``VOC2012`` (Segmentation/train_aug.txt and val.txt; half of the masks
    as official palette PNGs in ``SegmentationClass``, half as SBD index
    PNGs in ``SegmentationClassAug``). Returns the ids per split."""
    from PIL import Image
    ids = {}
    for year, n in (('2007', 10), ('2012', 10)):
        tmp = osp.join(root, f'_build{year}')
        info = build_voc_fixture(
            coco_mini, tmp, num_images=n, with_mask_every=1)
        voc = osp.join(root, f'VOC{year}')
        os.rename(osp.join(tmp, 'VOC2012'), voc)
        os.rmdir(tmp)
        half = len(info['ids']) // 2
        if year == '2007':
            splits = {
                'Main/trainval.txt': info['ids'][:half],
                'Main/test.txt': info['ids'][half:]
            }
            for p in os.listdir(osp.join(voc, 'SegmentationClass')):
                os.remove(osp.join(voc, 'SegmentationClass', p))
        else:
            train, val = info['ids'][:half], info['ids'][half:]
            splits = {
                'Segmentation/train_aug.txt': train,
                'Segmentation/val.txt': val,
                'Main/val.txt': val
            }
            # SBD-converted masks: plain index PNGs, no palette
            aug = osp.join(voc, 'SegmentationClassAug')
            os.makedirs(aug)
            for img_id in train[::2]:
                src = osp.join(voc, 'SegmentationClass', img_id + '.png')
                Image.fromarray(np.array(Image.open(src))).save(
                    osp.join(aug, img_id + '.png'))
                os.remove(src)
        for name, split in splits.items():
            with open(osp.join(voc, 'ImageSets', name), 'w') as f:
                f.write('\n'.join(split) + '\n')
        ids[year] = splits
    return ids


def build_coco_layout(coco_mini: str, root: str) -> None:
    """``root/annotations/instances_{train,val}2017.json`` and the image
    folders of a COCO download, from the real images (val = 4 of them)."""
    from blitznet_mm.datasets import coco_subset
    os.makedirs(osp.join(root, 'annotations'))
    src = osp.join(coco_mini, 'annotations', 'instances_train2017.json')
    ids = coco_subset(
        src, osp.join(root, 'annotations', 'instances_train2017.json'))
    coco_subset(
        src,
        osp.join(root, 'annotations', 'instances_val2017.json'),
        image_ids=ids[:4])
    for split in ('train2017', 'val2017'):
        os.symlink(
            osp.abspath(osp.join(coco_mini, 'train2017')),
            osp.join(root, split))
