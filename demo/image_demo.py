"""Run BlitzNet on your own images: boxes, labels, scores and the coloured
semantic mask drawn with the OpenMMLab visualizer, plus a JSON of results.

    python demo/image_demo.py IMAGE_OR_FOLDER CONFIG CHECKPOINT --out-dir DIR
        [--score-thr 0.3] [--device cpu] [--fast] [--max-draw-size 2048]

CHECKPOINT is a .pth checkpoint or a model exported by
tools/deployment/export.py (.onnx / .xml).

An input that cannot be read is reported in the JSON and the others are
still drawn; the command then exits with status 1, naming the failed files.
"""
import os.path as osp
import sys

# from a checkout, use its blitznet_mm rather than an installed copy
_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
if osp.isdir(osp.join(_ROOT, 'blitznet_mm')):
    sys.path.insert(0, _ROOT)

import argparse
import json
import os

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmdet.apis import inference_detector
from mmdet.registry import VISUALIZERS
from mmengine.config import Config
from mmengine.structures import PixelData

import blitznet_mm  # noqa: F401  (registers modules, safe checkpoint loading)
from blitznet_mm.apis import init_model
from blitznet_mm.deployment import is_exported_model
from blitznet_mm.structures import SegLabelSet
from blitznet_mm.utils import fast_inference, optimize_for_inference

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def list_images(path: str):
    if osp.isdir(path):
        files = sorted(osp.join(path, f) for f in os.listdir(path)
                       if f.lower().endswith(IMG_EXTS))
        if not files:
            raise FileNotFoundError(f'{path}: no image files in this folder')
        return files
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such image or folder')
    return [path]


def read_image(path: str) -> np.ndarray:
    """(H, W, 3) BGR uint8 with the EXIF orientation applied; grayscale,
    RGBA (alpha dropped) and 16-bit images are converted by mmcv/OpenCV.

    Raises:
        ValueError: if the file cannot be decoded (the message says whether
            it is a truncated JPEG).
    """
    try:
        img = mmcv.imread(path)
    except Exception as e:
        raise ValueError(f'cannot be read as an image ({e})') from None
    if img is None:
        if is_truncated_jpeg(path):
            raise ValueError('truncated JPEG (no end-of-image marker): '
                             'cannot be decoded')
        raise ValueError('cannot be decoded as an image (corrupt, or not '
                         'an image)')
    return img


def is_truncated_jpeg(path: str) -> bool:
    """A file that starts as a JPEG (SOI marker) but does not end with the
    end-of-image marker."""
    with open(path, 'rb') as f:
        if f.read(2) != b'\xff\xd8':
            return False
        f.seek(max(0, os.path.getsize(path) - 2))
        return f.read(2) != b'\xff\xd9'


def for_drawing(img: np.ndarray, ds, max_size: int):
    """Image and predictions scaled so the long side is <= ``max_size``
    (drawing a 48-megapixel photo with matplotlib needs GBs)."""
    h, w = img.shape[:2]
    if max(h, w) <= max_size:
        return img, ds
    scale = max_size / max(h, w)
    small = mmcv.imrescale(img, scale)
    out = ds.clone()
    out.pred_instances.bboxes = ds.pred_instances.bboxes * scale
    seg = ds.pred_sem_seg.sem_seg[None].float()
    out.pred_sem_seg = PixelData(sem_seg=F.interpolate(
        seg, size=small.shape[:2], mode='nearest')[0].long())
    return small, out


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('inputs', help='an image file or a folder of images')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--device', default='cpu')
    p.add_argument('--fast', action='store_true',
                   help='fast inference path: BN folded, channels-last, '
                   'bf16 (CPU) / fp16 (CUDA) autocast (docs/benchmark.md)')
    p.add_argument('--max-draw-size', type=int, default=2048,
                   help='drawn images are scaled to this long side at most '
                   '(results stay in original pixels)')
    args = p.parse_args()
    try:
        paths = list_images(args.inputs)
    except FileNotFoundError as e:
        sys.exit(f'image_demo: {e}')

    cfg = Config.fromfile(args.config)
    # inference needs no annotations
    pipe = cfg.test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset.pipeline = [
        t for t in pipe if t['type'] != 'LoadBlitzNetAnnotations']
    if args.fast and is_exported_model(args.checkpoint):
        sys.exit('image_demo: --fast is for PyTorch checkpoints')
    model = init_model(cfg, args.checkpoint, device=args.device)
    if args.fast:
        optimize_for_inference(model)
    device_type = torch.device(args.device).type
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(args.out_dir, exist_ok=True)
    classes = model.dataset_meta['classes']
    seg_names = SegLabelSet.from_metainfo(model.dataset_meta).names

    results, failed = [], []
    for path in paths:
        try:
            img = read_image(path)
            # the decoded array (not the path) goes to the model, so the
            # drawing and the results share one orientation
            with fast_inference(device_type, enabled=args.fast):
                ds = inference_detector(model, img)
        except Exception as e:  # a bad file must not stop the folder
            failed.append(dict(image=path, error=str(e)))
            print(f'skipped {path}: {e}')
            continue
        out_file = osp.join(args.out_dir, osp.basename(path))
        if osp.splitext(out_file)[1].lower() not in ('.jpg', '.jpeg',
                                                     '.png'):
            out_file += '.png'
        draw_img, draw_ds = for_drawing(img, ds, args.max_draw_size)
        visualizer.add_datasample(osp.basename(path), draw_img[..., ::-1],
                                  draw_ds, draw_gt=False,
                                  pred_score_thr=args.score_thr,
                                  out_file=out_file)
        inst = ds.pred_instances[ds.pred_instances.scores >= args.score_thr]
        seg = ds.pred_sem_seg.sem_seg[0].cpu().numpy()
        ids, counts = np.unique(seg, return_counts=True)
        entry = dict(
            image=path, drawn=out_file, height=img.shape[0],
            width=img.shape[1],
            detections=[dict(bbox=[round(v, 1) for v in b.tolist()],
                             score=round(float(s), 4),
                             label=classes[int(l)])
                        for b, s, l in zip(inst.bboxes, inst.scores,
                                           inst.labels)],
            mask_pixels={seg_names[i]: int(c) for i, c in zip(ids, counts)})
        results.append(entry)
        print(f'{path}: {len(inst)} boxes >= {args.score_thr} -> {out_file}')
    with open(osp.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, failed=failed), f, indent=1)
    print(f'{len(results)} images done, {len(failed)} skipped; results: '
          f'{osp.join(args.out_dir, "results.json")}')
    if failed:  # the others are drawn, but the run did not do all it was asked
        sys.exit(f'{len(failed)} of {len(results) + len(failed)} inputs '
                 'failed: ' + ', '.join(f['image'] for f in failed))


if __name__ == '__main__':
    main()
