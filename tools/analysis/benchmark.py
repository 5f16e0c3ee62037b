"""BlitzNet beside its peers, measured in one run on one machine (issue 6).

    python tools/analysis/benchmark.py            # = make bench
    # a smoke test: one timed run per path, the matmul peak once
    python tools/analysis/benchmark.py --quick --models "BlitzNet300 s8" \\
        --no-peers --no-train --no-postproc --out-dir /tmp/bench
    # the trained row on given weights and their export (no export here)
    python tools/analysis/benchmark.py --checkpoint W.pth --exported W.onnx

Writes ``<out-dir>/benchmark.md`` (tables, machine described) and
``<out-dir>/benchmark.json``. Sections:

1. a matrix-product peak (fp32 and bf16 on CPU; TF32, fp16 and bf16 on
   CUDA, square products up to 8192);
2. per-image inference latency (median and interquartile spread, batch 1
   and 8) of BlitzNet300 s4 / 300 s8 / 512 s8, mmdet SSD300 / SSD512
   (VGG16) and mmseg FCN R50-D8 at the same input sizes, and the
   BlitzNet300 variants (DetNet-59 trunk, RFB neck, ASPP / FCN heads,
   GroupNorm), broken into backbone, neck, heads, box decoding + NMS and
   mask upsampling + argmax; images/s; peak memory; FLOPs, achieved GFLOP/s
   and the FLOP floor (FLOPs / peak); an end-to-end time of the same calls
   without the per-stage synchronisations (CUDA events, one synchronisation
   per run of calls);
   each for fp32 (what ``tools/test.py`` runs: on CUDA PyTorch's defaults,
   TF32 cuDNN convolutions, and ``cudnn.benchmark`` from the config's
   ``env_cfg``), the exact fast path (BN folded, channels-last, inference
   mode) and the reduced-precision fast paths (bf16 on CPU; fp16 and bf16
   on CUDA; ``blitznet_mm.utils.fast_inference``); for BlitzNet300 s4 and the
   trained model also the exported model on ONNX Runtime (fp32) and
   OpenVINO (fp32, and bf16 where the CPU has it), post-processing included
   (``blitznet_mm.deployment``);
3. decode + NMS time versus the number of candidate anchors, with the scores
   of a trained model, for the paper's per-class strategy (Sec. 3.5) and for
   mmdet's default ``nms_pre``;
4. training throughput (batch 8, 300x300) of BlitzNet300 s4 and SSD300:
   fp32 and bf16 autocast with SGD on CPU; TF32, fp16 with a dynamic loss
   scale and bf16 through mmengine's ``AmpOptimWrapper`` with Adam on CUDA
   (what ``tools/train.py --amp`` runs);
5. the training input pipeline: images/s per data-loader worker of the
   full augmentation at 300 and 512
   (``blitznet_mm.analysis.bench.pipeline``; ``--no-pipeline``).

Models are randomly initialised (no weights can be downloaded here); speed
does not depend on the weights except in post-processing, which section 3
measures with trained scores.
"""
import argparse
import os.path as osp
import sys
import time

import torch

import blitznet_mm  # noqa: F401  (registers the modules)
from blitznet_mm.analysis.bench.inference import (bench_inference,
                                                  low_precisions,
                                                  precision_name)
from blitznet_mm.analysis.bench.machine import (PEAK_SIZES, cuda_settings,
                                                machine, matmul_peak)
from blitznet_mm.analysis.bench.models import (BLITZNETS, DEFAULT_MODELS,
                                               MODELS, TRAINED, coco_images)
from blitznet_mm.analysis.bench.pipeline import markdown as pipeline_markdown
from blitznet_mm.analysis.bench.pipeline import pipeline_rows
from blitznet_mm.analysis.bench.postproc import (bench_postproc,
                                                 trained_blitznet)
from blitznet_mm.analysis.bench.report import summarise, write_report
from blitznet_mm.analysis.bench.training import bench_train
from blitznet_mm.utils import default_dtype

_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out-dir', default=osp.join(_ROOT, 'docs'))
    p.add_argument(
        '--models',
        nargs='+',
        default=DEFAULT_MODELS,
        help=f'subset of: {", ".join(MODELS)}')
    p.add_argument('--no-peers', action='store_true')
    p.add_argument('--batch-sizes', nargs='+', type=int, default=[1, 8])
    p.add_argument('--runs', type=int, default=20, help='batch-1 runs')
    p.add_argument(
        '--runs-batch', type=int, default=20, help='runs for larger batches')
    p.add_argument(
        '--peer-runs-batch',
        type=int,
        default=3,
        help='batch-8 runs of the peers (they are slow)')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--no-postproc', action='store_true')
    p.add_argument(
        '--no-backends',
        dest='backends',
        action='store_false',
        help='skip the exported rows (ONNX Runtime, OpenVINO) of '
        'BlitzNet300 s4 and the trained model')
    p.add_argument(
        '--checkpoint',
        default=None,
        help='BlitzNet300 s4 COCO weights for the post-processing '
        'scores (e.g. the learning check\'s); default: overfit')
    p.add_argument(
        '--exported',
        help='the .onnx of --checkpoint exported by '
        'tools/deployment/export.py --backend openvino (the .xml beside '
        'it): the trained row\'s exported paths run it instead of '
        'exporting again')
    p.add_argument('--overfit-iters', type=int, default=40)
    p.add_argument('--postproc-images', type=int, default=4)
    p.add_argument('--postproc-runs', type=int, default=5)
    p.add_argument('--no-train', action='store_true')
    p.add_argument(
        '--no-pipeline',
        action='store_true',
        help='skip the training input pipeline section')
    p.add_argument('--train-batch', type=int, default=8)
    p.add_argument('--train-iters', type=int, default=4)
    p.add_argument('--train-warmup', type=int, default=1)
    p.add_argument(
        '--quick',
        action='store_true',
        help='one run per path, no warm-up, batch 1 only: a smoke test')
    p.add_argument('--device', default=None)
    p.add_argument(
        '--no-compile',
        dest='compile',
        action='store_false',
        help='skip the torch.compile path (BlitzNet300 s4 only)')
    args = p.parse_args(argv)
    if args.quick:
        # no warm-up: the first call's set-up is timed too (a smoke test's
        # numbers are not measurements)
        args.runs = args.runs_batch = args.peer_runs_batch = 1
        args.warmup = args.train_warmup = 0
        args.batch_sizes = [1]
        args.overfit_iters = 2
        args.postproc_images = args.postproc_runs = 1
        args.train_iters, args.train_batch = 1, 1
        args.compile = False
    if args.exported and not args.checkpoint:
        p.error('--exported is an export of --checkpoint: give both')
    if args.no_peers:
        args.models = [m for m in args.models if m in BLITZNETS]
    unknown = set(args.models) - set(MODELS)
    if unknown:
        p.error(
            f'unknown models {sorted(unknown)}; choose from {list(MODELS)}')
    return args


def bench_pipeline(args) -> dict:
    """Section 5 (``blitznet_mm.analysis.bench.pipeline``): rows and their
    markdown."""
    quick = dict(sizes=(300, ), passes=1, repeats=1, warmup=0) \
        if args.quick else {}
    rows = pipeline_rows(**quick)
    md = [
        '## Training input pipeline, this run (images/s per worker)', '',
        'The full training augmentation of configs/blitznet300_coco.py on '
        'the real images of data/samples in one process, OpenCV and torch '
        'single-threaded as in a worker; CPU time per delivered image '
        '(tools/analysis/bench/pipeline.py). "workers" is how many such '
        'workers feed the given batch x steps/s.', '',
        pipeline_markdown(rows)
    ]
    return dict(rows=rows, markdown=md)


def peak_sizes(device, quick: bool) -> tuple:
    """The matrix sides of the peak measurement (``--quick``: the largest
    only, where the peak is reached; fewer runs, so a lower bound)."""
    sizes = PEAK_SIZES['cuda' if device.type == 'cuda' else 'cpu']
    return sizes[-1:] if quick else sizes


def measure_peaks(device, dtypes, settings=None, quick=False) -> dict:
    """{precision: GFLOP/s}. On CUDA the fp32 peak is taken with TF32
    matmuls where cuDNN convolutions run in TF32 (PyTorch's default), so
    the fp32 rows' floor is the precision they actually run at."""
    tf32 = torch.backends.cuda.matmul.allow_tf32
    if settings:
        torch.backends.cuda.matmul.allow_tf32 = settings['cudnn_allow_tf32']
    kw = dict(sizes=peak_sizes(device, quick))
    if quick:
        kw.update(runs=1, trials=1)
    try:
        return {k: matmul_peak(device, d, **kw) for k, d in dtypes.items()}
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    device = torch.device(
        args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    low_name = precision_name(default_dtype(device.type))
    settings = None
    if device.type == 'cuda':
        # PyTorch's defaults and the config's cudnn_benchmark, as the tools
        # run (not TF32 off / autotuning on: those were not what users get)
        settings = cuda_settings(MODELS['BlitzNet300 s4'][1])
    images = coco_images(
        max(args.batch_sizes + [args.train_batch, args.postproc_images]))
    dtypes = dict(fp32=torch.float32, **low_precisions(device))
    peaks = measure_peaks(device, dtypes, settings, args.quick)
    print(
        'matmul peak: ' + ', '.join(f'{k} {v:.0f}'
                                    for k, v in peaks.items()) + ' GFLOP/s',
        flush=True)
    res = dict(
        command='python tools/analysis/benchmark.py ' +
        ' '.join(sys.argv[1:] if argv is None else argv),
        date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        machine=machine(device),
        batch_sizes=args.batch_sizes,
        peak_sizes=list(peak_sizes(device, args.quick)),
        peaks_gflops=dict(peaks),
        inference=[])
    if settings:
        res['cuda_settings'] = settings
    for name in args.models:
        peer = name not in BLITZNETS
        res['inference'].append(
            bench_inference(
                name,
                args,
                device,
                images,
                peaks,
                runs_batch=args.peer_runs_batch if peer else None))
    if not args.no_postproc:
        # the only weight-dependent stage is decode + NMS: time the whole
        # model once more with trained scores
        trained, source = trained_blitznet(args, device)
        res['trained_source'] = source
        res['inference'].append(
            bench_inference(
                TRAINED,
                args,
                device,
                images,
                peaks,
                model=trained,
                batch_sizes=[1]))
    if not args.no_postproc:
        res['postproc'] = bench_postproc(args, device, images, trained, source)
    if not args.no_train:
        res['training'] = bench_train(args, device)
    if not args.no_pipeline:
        res['pipeline'] = bench_pipeline(args)
    # the peak again at the end: the best of both sets the floors (not in
    # a smoke test, whose floors are not measurements)
    if not args.quick:
        for key, v in measure_peaks(device, dtypes, settings).items():
            peaks[key] = max(peaks[key], v)
    res['peaks_gflops'] = dict(peaks)
    for r in res['inference']:
        for pname, byb in r['paths'].items():
            peak = peaks[pname.split()[0]]
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
