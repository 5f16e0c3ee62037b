"""BlitzNet beside its peers, measured in one run on one machine (issue 6).

    python tools/analysis/benchmark.py            # = make bench
    python tools/analysis/benchmark.py --quick --models "BlitzNet300 s8" \\
        --no-peers --no-train --no-postproc --out-dir /tmp/bench

Writes ``<out-dir>/benchmark.md`` (tables, machine described) and
``<out-dir>/benchmark.json``. Sections:

1. a matrix-product peak (fp32 and bf16 on CPU, fp32 and fp16 on CUDA);
2. per-image inference latency (median and interquartile spread, batch 1
   and 8) of BlitzNet300 s4 / 300 s8 / 512 s8, mmdet SSD300 / SSD512 (VGG16)
   and mmseg FCN R50-D8 at the same input sizes, and the BlitzNet300
   variants (DetNet-59 trunk, RFB neck, ASPP / FCN heads, GroupNorm), broken into backbone, neck,
   heads, box decoding + NMS and mask upsampling + argmax; images/s; peak
   memory; FLOPs, achieved GFLOP/s and the FLOP floor (FLOPs / peak); each
   for fp32 (what ``tools/test.py`` runs), the exact fast path (BN folded,
   channels-last, inference mode) and the reduced-precision fast path
   (``blitznet_mm.utils.fast_inference``); for BlitzNet300 s4 and the
   trained model also the exported model on ONNX Runtime (fp32) and
   OpenVINO (fp32, and bf16 where the CPU has it), post-processing included
   (``blitznet_mm.deployment``);
3. decode + NMS time versus the number of candidate anchors, with the scores
   of a trained model, for the paper's per-class strategy (Sec. 3.5) and for
   mmdet's default ``nms_pre``;
4. training throughput (batch 8, 300x300) of BlitzNet300 s4 and SSD300.

Models are randomly initialised (no weights can be downloaded here); speed
does not depend on the weights except in post-processing, which section 3
measures with trained scores.
"""
import os.path as osp
import sys

_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if osp.isdir(osp.join(_ROOT, 'blitznet_mm')):
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

import blitznet_mm  # noqa: E402,F401  (registers the modules)
from blitznet_mm.utils import default_dtype  # noqa: E402

# the measuring pieces live beside this entry point, in bench/
from bench.inference import bench_inference  # noqa: E402
from bench.machine import machine, matmul_peak  # noqa: E402
from bench.models import (BLITZNETS, DEFAULT_MODELS, MODELS,  # noqa: E402
                          TRAINED, coco_images)
from bench.postproc import bench_postproc, trained_blitznet  # noqa: E402
from bench.report import summarise, write_report  # noqa: E402
from bench.training import bench_train  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out-dir', default=osp.join(_ROOT, 'docs'))
    p.add_argument('--models', nargs='+', default=DEFAULT_MODELS,
                   help=f'subset of: {", ".join(MODELS)}')
    p.add_argument('--no-peers', action='store_true')
    p.add_argument('--batch-sizes', nargs='+', type=int, default=[1, 8])
    p.add_argument('--runs', type=int, default=20, help='batch-1 runs')
    p.add_argument('--runs-batch', type=int, default=20,
                   help='runs for larger batches')
    p.add_argument('--peer-runs-batch', type=int, default=3,
                   help='batch-8 runs of the peers (they are slow)')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--no-postproc', action='store_true')
    p.add_argument('--no-backends', dest='backends', action='store_false',
                   help='skip the exported rows (ONNX Runtime, OpenVINO) of '
                   'BlitzNet300 s4 and the trained model')
    p.add_argument('--checkpoint', default=None,
                   help='BlitzNet300 s4 COCO weights for the post-processing '
                   'scores (e.g. the learning check\'s); default: overfit')
    p.add_argument('--overfit-iters', type=int, default=40)
    p.add_argument('--postproc-images', type=int, default=4)
    p.add_argument('--postproc-runs', type=int, default=5)
    p.add_argument('--no-train', action='store_true')
    p.add_argument('--train-batch', type=int, default=8)
    p.add_argument('--train-iters', type=int, default=4)
    p.add_argument('--train-warmup', type=int, default=1)
    p.add_argument('--quick', action='store_true',
                   help='few runs, batch 1 only: a smoke test')
    p.add_argument('--device', default=None)
    p.add_argument('--no-compile', dest='compile', action='store_false',
                   help='skip the torch.compile path (BlitzNet300 s4 only)')
    args = p.parse_args(argv)
    if args.quick:
        args.runs = args.runs_batch = args.peer_runs_batch = 2
        args.warmup = 1
        args.batch_sizes = [1]
        args.overfit_iters = 2
        args.postproc_images = args.postproc_runs = 1
        args.train_iters, args.train_batch = 1, 2
        args.compile = False
    if args.no_peers:
        args.models = [m for m in args.models if m in BLITZNETS]
    unknown = set(args.models) - set(MODELS)
    if unknown:
        p.error(f'unknown models {sorted(unknown)}; choose from {list(MODELS)}')
    return args


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    low = default_dtype(device.type)
    low_name = {torch.bfloat16: 'bf16', torch.float16: 'fp16'}[low]
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    images = coco_images(max(args.batch_sizes + [args.train_batch,
                                                 args.postproc_images]))
    peaks = dict(fp32=matmul_peak(device, torch.float32),
                 low=matmul_peak(device, low))
    print(f'matmul peak: fp32 {peaks["fp32"]:.0f}, {low_name} '
          f'{peaks["low"]:.0f} GFLOP/s', flush=True)
    res = dict(command='python tools/analysis/benchmark.py ' +
               ' '.join(sys.argv[1:] if argv is None else argv),
               date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
               machine=machine(device), batch_sizes=args.batch_sizes,
               peaks_gflops={'fp32': peaks['fp32'], low_name: peaks['low']},
               inference=[])
    for name in args.models:
        peer = name not in BLITZNETS
        res['inference'].append(bench_inference(
            name, args, device, images, peaks,
            runs_batch=args.peer_runs_batch if peer else None))
    if not args.no_postproc:
        # the only weight-dependent stage is decode + NMS: time the whole
        # model once more with trained scores
        trained, source = trained_blitznet(args, device)
        res['trained_source'] = source
        res['inference'].append(bench_inference(
            TRAINED, args, device, images, peaks, model=trained,
            batch_sizes=[1]))
    if not args.no_postproc:
        res['postproc'] = bench_postproc(args, device, images, trained,
                                         source)
    if not args.no_train:
        res['training'] = bench_train(args, device)
    # the peak again at the end: the best of both sets the floors
    for key, dtype in (('fp32', torch.float32), ('low', low)):
        peaks[key] = max(peaks[key], matmul_peak(device, dtype))
    res['peaks_gflops'] = {'fp32': peaks['fp32'], low_name: peaks['low']}
    for r in res['inference']:
        for pname, byb in r['paths'].items():
            peak = peaks['fp32' if pname.startswith('fp32') else 'low']
            for e in byb.values():
                e['floor_s'] = r['flops'] / (peak * 1e9)
                e['vs_floor'] = e['median_s'] / e['floor_s']
    summarise(res, f'{low_name} fast')
    res['wall_s'] = time.time() - t0
    write_report(res, args.out_dir)
    print(f'wrote {osp.join(args.out_dir, "benchmark.md")} and .json '
          f'({res["wall_s"] / 60:.1f} min)')
    return res


if __name__ == '__main__':
    main()
