"""BDD100K (official layout) -> what configs/blitznet300_bdd100k.py reads
(docs/multi_task.md):

    python tools/dataset_converters/bdd100k_to_coco.py data/bdd100k

For each split (train, val) it writes

- ``labels/det_20/det_<split>_coco.json``: the Scalabel detection json
  ``labels/det_20/det_<split>.json`` as COCO instances (10 classes, image
  sizes read from ``images/100k/<split>/``);
- ``labels/lane/multi_label/<split>/<name>.png``: the lane masks of
  ``labels/lane/masks/<split>/`` as multi-label PNGs (bit 0 lane marking,
  bit 1 dashed, bit 2 vertical), when the lane masks are there.

The drivable-area PNGs (``labels/drivable/masks/<split>/``) are read as
they are.
"""
import os.path as osp
import sys

_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if osp.isdir(osp.join(_ROOT, 'blitznet_mm')):
    sys.path.insert(0, _ROOT)

import argparse

from blitznet_mm.datasets.bdd100k import bdd_det_to_coco  # noqa: E402
from blitznet_mm.datasets.bdd100k import convert_lane_masks


def convert(root: str, splits=('train', 'val')) -> dict:
    """Convert every split of ``root`` that has a detection json.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='the bdd100k folder (images/, labels/)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    args = parser.parse_args()
    for split, stats in convert(args.root, args.splits).items():
        print(f'{split}: ' + ', '.join(f'{k} {v}' for k, v in stats.items()))


if __name__ == '__main__':
    main()
