"""Write a blur-segmentation set (BDNet-style, docs/blur.md) from real
images: the writer of ``tools/dataset_converters/make_blur_dataset.py``
around the synthesis of ``blur_synthesis``.

Each source image gives ``per_image`` samples: regions (random shapes, or
the image's objects when ``ann`` names its COCO instances) re-rendered with
defocus or motion blur, and a palette PNG of the blurred pixels (0 sharp,
1 motion, 2 defocus). The last ``val_fraction`` of the source images
(sorted by name) make the validation split, so it is held out: no
validation sample shares a source image with a training one. Writes::

    OUT/img_dir/{train,val}/<stem>_<k>.jpg
    OUT/ann_dir/{train,val}/<stem>_<k>.png
    OUT/samples.json    (source, split, regions' kinds and strengths)

for ``BlitzNetSegDataset`` (configs/blur/blitznet300_blur_seg.py).
"""
import json
import os
import os.path as osp

import cv2
import mmcv
import numpy as np

from .blur_synthesis import BLUR_CLASSES, compose, sample_regions
from .voc import save_palette_png

IMG_EXT = ('.jpg', '.jpeg', '.png', '.bmp')


def object_masks(ann_file: str):
    """A function: file name -> list of (H, W) bool masks of that image's
    non-crowd instances, decoded when asked (a full COCO json holds far
    more instances than fit in memory as masks)."""
    from pycocotools.coco import COCO
    coco = COCO(ann_file)
    ids = {img['file_name']: img['id'] for img in coco.imgs.values()}

    def masks(name: str) -> list:
        if name not in ids:
            return []
        anns = coco.loadAnns(coco.getAnnIds(imgIds=ids[name], iscrowd=False))
        return [
            coco.annToMask(a).astype(bool) for a in anns
            if a.get('segmentation')
        ]

    return masks


def make_blur_dataset(src: str,
                      out: str,
                      ann: str = None,
                      per_image: int = 2,
                      val_fraction: float = 0.25,
                      seed: int = 0) -> dict:
    """Write the set (module docstring); returns the sample count per
    split. Deterministic for a given ``seed``.

    Raises:
        FileNotFoundError: ``src`` has no image.
        ValueError: ``val_fraction`` leaves a split empty.
    """
    names = sorted(n for n in os.listdir(src) if n.lower().endswith(IMG_EXT))
    if not names:
        raise FileNotFoundError(f'{src}: no image ({", ".join(IMG_EXT)})')
    n_val = int(round(len(names) * val_fraction))
    if not 0 < n_val < len(names):
        raise ValueError(f'{len(names)} images with val_fraction '
                         f'{val_fraction}: a split would be empty')
    objects = object_masks(ann) if ann else (lambda name: [])
    records, counts = [], dict(train=0, val=0)
    for i, name in enumerate(names):
        split = 'val' if i >= len(names) - n_val else 'train'
        img = mmcv.imread(osp.join(src, name))
        if img is None:
            raise ValueError(f'{osp.join(src, name)}: not a readable image')
        objs = [m for m in objects(name) if m.shape == img.shape[:2]]
        for k in range(per_image):
            rng = np.random.default_rng([seed, i, k])
            regions = sample_regions(img.shape[:2], rng, objs)
            blurred, label = compose(img, regions)
            stem = f'{osp.splitext(name)[0]}_{k}'
            mmcv.imwrite(
                blurred,
                osp.join(out, 'img_dir', split, stem + '.jpg'),
                params=[cv2.IMWRITE_JPEG_QUALITY, 95])
            os.makedirs(osp.join(out, 'ann_dir', split), exist_ok=True)
            save_palette_png(label,
                             osp.join(out, 'ann_dir', split, stem + '.png'))
            records.append(
                dict(
                    sample=stem,
                    source=name,
                    split=split,
                    regions=[
                        dict(
                            kind=BLUR_CLASSES[kind - 1],
                            strength=strength,
                            angle=angle,
                            area=float(mask.mean()))
                        for mask, kind, strength, angle in regions
                    ]))
            counts[split] += 1
    with open(osp.join(out, 'samples.json'), 'w') as f:
        json.dump(
            dict(
                classes=BLUR_CLASSES,
                seed=seed,
                source_dir=src,
                samples=records),
            f,
            indent=1)
    return counts
