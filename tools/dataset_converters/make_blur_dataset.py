"""Make a blur-segmentation set (BDNet-style, docs/blur.md) from real images.

    python tools/dataset_converters/make_blur_dataset.py \\
        data/samples/train2017 data/blur \\
        --ann data/samples/annotations/instances_train2017.json

Each source image gives ``--per-image`` samples: regions (random shapes, or
the image's objects when ``--ann`` names its COCO instances) re-rendered
with defocus or motion blur, and a palette PNG of the blurred pixels
(0 sharp, 1 motion, 2 defocus). The last ``--val-fraction`` of the source
images (sorted by name) make the validation split, so it is held out:
no validation sample shares a source image with a training one. Writes::

    OUT/img_dir/{train,val}/<stem>_<k>.jpg
    OUT/ann_dir/{train,val}/<stem>_<k>.png
    OUT/samples.json    (source, split, regions' kinds and strengths)

for ``BlitzNetSegDataset`` (configs/blur/blitznet300_blur_seg.py).
"""
import argparse

from blitznet_mm.datasets.blur_dataset import make_blur_dataset


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src', help='folder of real images')
    p.add_argument('out', help='output folder')
    p.add_argument(
        '--ann',
        help='COCO instances json of src: blur objects '
        'too, not only random shapes')
    p.add_argument('--per-image', type=int, default=2)
    p.add_argument('--val-fraction', type=float, default=0.25)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    counts = make_blur_dataset(args.src, args.out, args.ann, args.per_image,
                               args.val_fraction, args.seed)
    print(f"{args.out}: {counts['train']} train, {counts['val']} val "
          'samples')


if __name__ == '__main__':
    main()
