"""Write a COCO-style json for a VOC image list, so that mmdet's CocoMetric
can score VOC (it needs a json and integer image ids).

    python tools/dataset_converters/voc_to_coco.py DATA_ROOT SUB_ROOT LIST OUT
    e.g. data/VOCdevkit VOC2007 ImageSets/Main/test.txt voc07_test.json

Image ids are ``voc_int_id`` of the VOC ids; evaluate with
``BlitzNetVOCDataset(int_img_ids=True)``. Difficult boxes get ``iscrowd=1``
(ignored by COCO evaluation, as by the VOC protocol).
"""
import argparse
import json
import os.path as osp

from mmdet.utils import register_all_modules

from blitznet_mm.datasets import BlitzNetVOCDataset


def voc_to_coco(data_root: str, sub_root: str, image_list: str) -> dict:
    """COCO instances dict for the images of ``image_list`` (relative to
    ``data_root/sub_root``); boxes in pixels, ``[x, y, w, h]``."""
    register_all_modules()
    ds = BlitzNetVOCDataset(
        data_root=data_root,
        ann_file=osp.join(sub_root, image_list),
        data_prefix=dict(sub_data_root=sub_root),
        int_img_ids=True,
        test_mode=True,
        pipeline=[])
    classes = ds.metainfo['classes']
    images, anns = [], []
    for info in (ds.get_data_info(i) for i in range(len(ds))):
        images.append(
            dict(
                id=info['img_id'],
                width=info['width'],
                height=info['height'],
                file_name=osp.relpath(info['img_path'], data_root)))
        for inst in info['instances']:
            x1, y1, x2, y2 = inst['bbox']
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=info['img_id'],
                    category_id=inst['bbox_label'] + 1,
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    area=(x2 - x1) * (y2 - y1),
                    iscrowd=int(inst['ignore_flag']),
                    segmentation=[]))
    return dict(
        images=images,
        annotations=anns,
        categories=[dict(id=i + 1, name=c) for i, c in enumerate(classes)])


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data_root')
    p.add_argument('sub_root')
    p.add_argument('image_list')
    p.add_argument('out')
    args = p.parse_args()
    coco = voc_to_coco(args.data_root, args.sub_root, args.image_list)
    with open(args.out, 'w') as f:
        json.dump(coco, f)
    print(f"{args.out}: {len(coco['images'])} images, "
          f"{len(coco['annotations'])} boxes")


if __name__ == '__main__':
    main()
