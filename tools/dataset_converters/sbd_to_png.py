"""Convert SBD's class masks (``cls/*.mat``, struct ``GTcls.Segmentation``)
to PNGs in VOC's palette format (0 background, 1..20 classes), e.g. to build
``SegmentationClassAug`` for VOC12 train-seg-aug.

    python tools/dataset_converters/sbd_to_png.py SBD/dataset/cls OUT_DIR
"""
import argparse
import os
import os.path as osp

import numpy as np
from scipy.io import loadmat

from blitznet_mm.datasets.voc import save_palette_png


def sbd_mat_to_label(path: str) -> np.ndarray:
    """(H, W) uint8 class map of one SBD ``cls`` .mat file.

    Raises:
        ValueError: if the file has no ``GTcls.Segmentation``.
    """
    mat = loadmat(path, squeeze_me=True, struct_as_record=False)
    try:
        seg = mat['GTcls'].Segmentation
    except (KeyError, AttributeError) as e:
        raise ValueError(f'{path}: no GTcls.Segmentation in this file') from e
    return np.asarray(seg, dtype=np.uint8)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('mat_dir')
    p.add_argument('out_dir')
    args = p.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    names = sorted(f for f in os.listdir(args.mat_dir) if f.endswith('.mat'))
    for name in names:
        save_palette_png(
            sbd_mat_to_label(osp.join(args.mat_dir, name)),
            osp.join(args.out_dir, name[:-4] + '.png'))
    print(f'{len(names)} masks written to {args.out_dir}')


if __name__ == '__main__':
    main()
