"""Run BlitzNet on your own images: boxes, labels, scores and the coloured
semantic mask drawn with the OpenMMLab visualizer, plus a JSON of results.

    python demo/image_demo.py IMAGE_OR_FOLDER CONFIG CHECKPOINT --out-dir DIR
        [--score-thr 0.3] [--device cpu]
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
import os.path as osp

import mmcv
import numpy as np
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import VISUALIZERS
from mmengine.config import Config

import blitznet_mm  # noqa: F401  (registers modules, safe checkpoint loading)

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


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('inputs', help='an image file or a folder of images')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--device', default='cpu')
    args = p.parse_args()

    cfg = Config.fromfile(args.config)
    # inference needs no annotations
    pipe = cfg.test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset.pipeline = [
        t for t in pipe if t['type'] != 'LoadBlitzNetAnnotations']
    model = init_detector(cfg, args.checkpoint, device=args.device)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(args.out_dir, exist_ok=True)

    results, failed = [], []
    for path in list_images(args.inputs):
        try:
            img = mmcv.imread(path, channel_order='rgb')
            error = None if img is not None else 'cannot be read as an image'
        except Exception as e:  # unreadable file: report it, go on
            error = f'cannot be read as an image ({e})'
        if error:
            failed.append(dict(image=path, error=error))
            print(f'skipped {path}: {error}')
            continue
        ds = inference_detector(model, path)
        out_file = osp.join(args.out_dir, osp.basename(path))
        visualizer.add_datasample(osp.basename(path), img, ds,
                                  draw_gt=False, pred_score_thr=args.score_thr,
                                  out_file=out_file)
        inst = ds.pred_instances[ds.pred_instances.scores >= args.score_thr]
        classes = model.dataset_meta['classes']
        seg = ds.pred_sem_seg.sem_seg[0].cpu().numpy()
        ids, counts = np.unique(seg, return_counts=True)
        results.append(dict(
            image=path, drawn=out_file,
            detections=[dict(bbox=[round(v, 1) for v in b.tolist()],
                             score=round(float(s), 4),
                             label=classes[int(l)])
                        for b, s, l in zip(inst.bboxes, inst.scores,
                                           inst.labels)],
            mask_pixels={('background' if i == 0 else classes[i - 1]):
                         int(c) for i, c in zip(ids, counts)}))
        print(f'{path}: {len(inst)} boxes >= {args.score_thr} -> {out_file}')
    with open(osp.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, failed=failed), f, indent=1)
    print(f'results: {osp.join(args.out_dir, "results.json")}')


if __name__ == '__main__':
    main()
