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
import argparse

from blitznet_mm.datasets.bdd100k import convert_bdd100k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='the bdd100k folder (images/, labels/)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    args = parser.parse_args()
    for split, stats in convert_bdd100k(args.root, args.splits).items():
        print(f'{split}: ' + ', '.join(f'{k} {v}' for k, v in stats.items()))


if __name__ == '__main__':
    main()
