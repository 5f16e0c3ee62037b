"""Make a small COCO set (like data/samples) from a COCO
download: a json with the first N images and links to their files.

    python tools/dataset_converters/coco_subset.py data/coco train2017 80 \
        data/my_coco_mini
"""
import argparse
import json
import os
import os.path as osp

from blitznet_mm.datasets import coco_subset


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('coco_root', help='holds annotations/ and the image split')
    p.add_argument('split', help='e.g. train2017')
    p.add_argument('num_images', type=int)
    p.add_argument('out_root')
    args = p.parse_args()
    ann = osp.join(args.out_root, 'annotations',
                   f'instances_{args.split}.json')
    os.makedirs(osp.dirname(ann), exist_ok=True)
    os.makedirs(osp.join(args.out_root, args.split), exist_ok=True)
    ids = coco_subset(
        osp.join(args.coco_root, 'annotations',
                 f'instances_{args.split}.json'), ann, args.num_images)
    with open(ann) as f:
        images = json.load(f)['images']
    for img in images:
        dst = osp.join(args.out_root, args.split, img['file_name'])
        if not osp.exists(dst):
            os.symlink(
                osp.abspath(
                    osp.join(args.coco_root, args.split, img['file_name'])),
                dst)
    print(f'{ann}: {len(ids)} images')


if __name__ == '__main__':
    main()
