"""Run BlitzNet on your own images: boxes, labels, scores and the coloured
semantic mask drawn with the OpenMMLab visualizer, plus a JSON of results.

    python demo/image_demo.py IMAGE_OR_FOLDER CONFIG_OR_NAME --weights CKPT
        [--out-dir outputs] [--pred-score-thr 0.3] [--batch-size 1]
        [--show] [--no-save-vis] [--no-save-pred] [--print-result]
        [--device cpu] [--fast] [--max-draw-size 2048]

mmdet 3.x's demo arguments, on ``BlitzNetInferencer``: CKPT is a .pth
checkpoint or a model exported by tools/deployment/export.py (.onnx /
.xml); CONFIG_OR_NAME a config or a name of blitznet_mm's model index.
Writes ``vis/<image>`` (drawn), ``preds/<image>.json`` (mmdet's format,
plus the label map's PNG path) and ``results.json`` (every image: boxes
over the threshold, pixels per segmentation class; the failed inputs).
The older form ``IMAGE_OR_FOLDER CONFIG CHECKPOINT`` still works.

An input that cannot be read is reported in the JSON and the others are
still drawn; the command then exits with status 1, naming the failed files.
"""
import argparse
import json
import os
import os.path as osp
import sys

import mmcv
import mmengine
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData

import blitznet_mm  # noqa: F401  (registers modules, safe checkpoint loading)
from blitznet_mm.apis import BlitzNetInferencer
from blitznet_mm.deployment import is_exported_model
from blitznet_mm.structures import SegLabelSet
from blitznet_mm.utils import fast_inference, optimize_for_inference

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def list_images(path: str):
    if osp.isdir(path):
        files = sorted(
            osp.join(path, f) for f in os.listdir(path)
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
    out.pred_sem_seg = PixelData(
        sem_seg=F.interpolate(seg, size=small.shape[:2], mode='nearest')
        [0].long())
    return small, out


def parse_args(argv=None):
    """mmdet 3.x's demo arguments (``inputs model [--weights W] ...``);
    the older ``inputs config checkpoint`` form is still accepted."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('inputs', help='an image file or a folder of images')
    p.add_argument(
        'model',
        help='config file, or a model name of '
        'blitznet_mm\'s index (mim search blitznet_mm)')
    p.add_argument('checkpoint', nargs='?', help=argparse.SUPPRESS)
    p.add_argument(
        '--weights',
        help='.pth checkpoint, or an exported '
        '.onnx / .xml model')
    p.add_argument('--out-dir', default='outputs')
    p.add_argument(
        '--pred-score-thr',
        '--score-thr',
        dest='score_thr',
        type=float,
        default=0.3)
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument(
        '--device',
        default=None,
        help='default: cuda:0 where there is a GPU, else cpu')
    p.add_argument(
        '--show',
        action='store_true',
        help='show each drawn image in a window')
    p.add_argument(
        '--wait-time',
        type=float,
        default=0,
        help='seconds each shown image stays (0: a key press)')
    p.add_argument(
        '--no-save-vis',
        action='store_true',
        help='do not write the drawn images')
    p.add_argument(
        '--no-save-pred',
        action='store_true',
        help='do not write preds/<image>.json (mmdet format)')
    p.add_argument('--print-result', action='store_true')
    p.add_argument(
        '--fast',
        action='store_true',
        help='fast inference path: BN folded, channels-last, '
        'bf16 (CPU) / fp16 (CUDA) autocast (docs/benchmark.md)')
    p.add_argument(
        '--max-draw-size',
        type=int,
        default=2048,
        help='drawn images are scaled to this long side at most '
        '(results stay in original pixels)')
    args = p.parse_args(argv)
    if args.checkpoint is not None:
        if args.weights is not None:
            p.error('give the checkpoint once: as --weights')
        print(
            'image_demo: "inputs config checkpoint" is the older form; '
            'mmdet 3.x\'s is "inputs config --weights checkpoint"',
            file=sys.stderr)
        args.weights = args.checkpoint
    if args.batch_size < 1:
        p.error('--batch-size must be >= 1')
    if args.device is None:
        args.device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    return args


def build_inferencer(args) -> BlitzNetInferencer:
    """The inferencer of ``args.model`` with ``args.weights``."""
    if args.fast and args.weights and is_exported_model(args.weights):
        sys.exit('image_demo: --fast is for PyTorch checkpoints')
    model = args.model
    if osp.isfile(model):
        model = Config.fromfile(model)
    inferencer = BlitzNetInferencer(
        model=model, weights=args.weights, device=args.device)
    if args.fast:
        optimize_for_inference(inferencer.model)
    return inferencer


def batches(paths, size):
    """(path, image or the error) per input, ``size`` readable ones at a
    time: a bad file never stops the folder."""
    batch = []
    for path in paths:
        try:
            batch.append((path, read_image(path)))
        except Exception as e:
            yield [(path, e)]
            continue
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def main(argv=None):
    args = parse_args(argv)
    try:
        paths = list_images(args.inputs)
    except FileNotFoundError as e:
        sys.exit(f'image_demo: {e}')
    inferencer = build_inferencer(args)
    model = inferencer.model
    device_type = torch.device(args.device).type
    visualizer = inferencer.visualizer
    os.makedirs(args.out_dir, exist_ok=True)
    classes = model.dataset_meta['classes']
    seg_names = SegLabelSet.from_metainfo(model.dataset_meta).names

    results, failed = [], []
    progress = mmengine.ProgressBar(len(paths)) if len(paths) > 1 else None
    for batch in batches(paths, args.batch_size):
        good = [(p, img) for p, img in batch if isinstance(img, np.ndarray)]
        try:
            # the decoded arrays (not the paths) go to the model, so the
            # drawing and the results share one orientation
            preds = []
            with fast_inference(device_type, enabled=args.fast):
                for _, data in inferencer.preprocess(
                        [img for _, img in good], batch_size=len(good)) \
                        if good else []:
                    preds += inferencer.forward(data)
        except Exception as e:  # a bad file must not stop the folder
            preds, batch = [], [(p, e) for p, _ in batch]
        if progress is not None:
            print()  # the bar's line ends, so the lines below start clean
        for path, img in batch:
            if not isinstance(img, np.ndarray):
                failed.append(dict(image=path, error=str(img)))
                print(f'skipped {path}: {img}')
        for (path, img), ds in zip(good, preds):
            results.append(
                _result(args, inferencer, visualizer, path, img, ds, classes,
                        seg_names))
        if progress is not None:
            progress.update(len(batch))
    if progress is not None:
        print()
    with open(osp.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, failed=failed), f, indent=1)
    print(f'{len(results)} images done, {len(failed)} skipped; results: '
          f'{osp.join(args.out_dir, "results.json")}')
    if failed:  # the others are drawn, but the run did not do all it was asked
        sys.exit(f'{len(failed)} of {len(results) + len(failed)} inputs '
                 'failed: ' + ', '.join(f['image'] for f in failed))


def _result(args, inferencer, visualizer, path, img, ds, classes,
            seg_names) -> dict:
    """Draw / show / write one image's predictions; its results.json
    entry."""
    stem = osp.basename(path)
    out_file = None
    if not args.no_save_vis:
        out_file = osp.join(args.out_dir, 'vis', stem)
        if osp.splitext(out_file)[1].lower() not in ('.jpg', '.jpeg', '.png'):
            out_file += '.png'
    if out_file or args.show:
        draw_img, draw_ds = for_drawing(img, ds, args.max_draw_size)
        visualizer.add_datasample(
            stem,
            draw_img[..., ::-1],
            draw_ds,
            draw_gt=False,
            show=args.show,
            wait_time=args.wait_time,
            pred_score_thr=args.score_thr,
            out_file=out_file)
    # arrays went to the model: name the predictions after the file
    ds.set_metainfo(dict(img_path=path))
    pred = inferencer.pred2dict(
        ds, pred_out_dir='' if args.no_save_pred else args.out_dir)
    if args.print_result:
        print({k: v for k, v in pred.items() if k != 'sem_seg'})
    inst = ds.pred_instances[ds.pred_instances.scores >= args.score_thr]
    seg = ds.pred_sem_seg.sem_seg[0].cpu().numpy()
    ids, counts = np.unique(seg, return_counts=True)
    print(f'{path}: {len(inst)} boxes >= {args.score_thr}' +
          (f' -> {out_file}' if out_file else ''))
    return dict(
        image=path,
        drawn=out_file,
        height=img.shape[0],
        width=img.shape[1],
        detections=[
            dict(
                bbox=[round(v, 1) for v in b.tolist()],
                score=round(float(s), 4),
                label=classes[int(lab)])
            for b, s, lab in zip(inst.bboxes, inst.scores, inst.labels)
        ],
        mask_pixels={
            seg_names[i]: int(c)
            for i, c in zip(ids, counts)
        })


if __name__ == '__main__':
    main()
