"""The GPU check: BlitzNet on one CUDA GPU in at most 8 minutes, written to
``work_dirs/gpu_check/report.md`` and ``report.json`` (docs/benchmark.md,
"GPU").

    make gpu-check-wheels              # here (network): .whl/gpu_check/
    make gpu-check                     # there: python3 tools/analysis/...
    python tools/analysis/gpu_check.py --device cpu --dry-run   # here

Sections, each guarded and with its own time budget (seconds):
(a) unit: a batch mixing boxes + mask, boxes only and mask only (loss,
    backward, predict); the reduced-precision dtype inside
    ``runner.test()`` with ``FastInferenceHook``; one train step under
    ``randomness.deterministic=True``; ONNX export of a model on the GPU
    and the exported model on ``BackendSession(device='cuda')``;
(b) speed: BlitzNet300 s4 and BlitzNet512 s8, fp32 (TF32) / fp16 / bf16
    fast paths, batch 1 and 8 (+32 for 300 s4 fp16/bf16), end to end with
    CUDA events, peak memory; targets >= 150 images/s at batch 1 and
    >= 2000 at batch 32 (300 s4, fp16/bf16);
(c) training: steps/s at batch 32 (300) and 16 (512) in TF32, fp16 AMP
    (dynamic loss scale) and bf16 AMP; DDP over 2 processes against 1.

The GPU machine has its own Python 3.12 / torch and no network: with
``--wheels`` the OpenMMLab packages are installed from the prepared wheels
into ``--site`` when mmdet is not importable; mmcv comes without compiled
ops (mmcv-lite) unless ``--build-mmcv-ops SECONDS`` builds them in time,
and ``mmcv._ext`` is then a stand-in whose NMS is torchvision's.
"""
import argparse
import os
import os.path as osp
import sys
import time

# light module level only: spawned DDP workers import this file again. The
# helpers are the package gpu_check/ beside this script (its folder is
# first on sys.path); bootstrap.find_blitznet_mm finds blitznet_mm (the
# installed copy, else this checkout's)
_ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

# (name, GPU budget, dry-run budget) in seconds; 445 s of sections + ~30 s
# of set-up and imports keeps a GPU run under 8 minutes
BUDGETS = [('unit.mixed_batch', 30, 90), ('unit.fast_path_dtype', 45, 90),
           ('unit.deterministic', 30, 90), ('unit.export_on_device', 60, 150),
           ('speed.inference', 130, 150), ('speed.training', 90, 150),
           ('training.ddp_equivalence', 60, 180)]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--device',
        default=None,
        help='cuda (default where '
        'available) or cpu')
    p.add_argument(
        '--dry-run',
        action='store_true',
        help='tiny counts and '
        'batches: shows that every section runs (a few minutes '
        'on 2 CPU cores)')
    p.add_argument('--out', default=osp.join(_ROOT, 'work_dirs', 'gpu_check'))
    p.add_argument(
        '--wheels',
        default=None,
        help='folder of '
        'gpu_check_wheels.sh; installed when mmdet is missing')
    p.add_argument(
        '--site',
        default='/tmp/gpu_check_site',
        help='pip --target of those wheels')
    p.add_argument(
        '--build-mmcv-ops',
        type=float,
        default=0.,
        metavar='S',
        help='try to build mmcv\'s CUDA ops from the sdist for at '
        'most S seconds before the check (not part of its 8 min)')
    p.add_argument(
        '--mmcv-ext',
        choices=['auto', 'stub'],
        default='auto',
        help='stub: use the mmcv._ext stand-in even where the '
        'compiled ops import (to try it on CPU)')
    p.add_argument(
        '--sections',
        nargs='+',
        default=None,
        help='run only sections whose name starts with one of '
        f'these: {", ".join(b[0] for b in BUDGETS)}')
    p.add_argument(
        '--total-budget',
        type=float,
        default=None,
        help='seconds for all sections (default 450, dry run 900)')
    p.add_argument(
        '--budget-scale',
        type=float,
        default=1.,
        help='multiply every section budget and the default '
        'total (a loaded machine)')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == 'cpu':  # before torch: the Runner must not pick CUDA
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    os.makedirs(args.out, exist_ok=True)
    logf = open(osp.join(args.out, 'log.txt'), 'w')
    t0 = time.monotonic()

    def log(msg):
        line = f'[{time.monotonic() - t0:6.1f} s] {msg}'
        print(line, flush=True)
        logf.write(line + '\n')
        logf.flush()

    from gpu_check import bootstrap
    from gpu_check.guard import Check
    from gpu_check.report import render
    check = Check(args.out, render, log)
    check.res['dry_run'] = args.dry_run
    try:
        env = bootstrap.prepare(args, log)
        env['blitznet_mm'] = bootstrap.find_blitznet_mm(_ROOT, log)
    except Exception as e:  # nothing else can run; say why in the report
        check.res['env'] = dict(setup_error=f'{type(e).__name__}: {e}')
        check.write()
        log(f'set-up failed: {e}')
        return 1
    check.res['env'] = env
    import torch
    from gpu_check import ddp, speed, unit
    from gpu_check.mmcv_ops import check_nms

    import blitznet_mm  # noqa: F401  (registers the modules)
    device = torch.device(
        args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    try:
        env['mmcv_nms'] = check_nms(str(device))
    except Exception as e:
        env['mmcv_nms'] = f'{type(e).__name__}: {e}'
    log(f'set-up done: torch {env["torch"]}, device {device}, mmcv._ext '
        f'{env["mmcv_ext"]}')
    dry = args.dry_run
    # the dry run: 160 px inputs where the input size is free (the unit
    # checks, training, DDP), 1-2 images, 1 timed run
    small = dict(size=160) if dry else {}
    sections = {
        'unit.mixed_batch': (unit.mixed_batch, small),
        'unit.fast_path_dtype': (unit.fast_path_dtype, {}),
        'unit.deterministic': (unit.deterministic, small),
        'unit.export_on_device': (unit.export_on_device, small),
        'speed.inference':
        (speed.inference,
         dict(batches=(1, ), target_batch=2, runs=1, warmup=1) if dry else {}),
        'speed.training':
        (speed.training,
         dict(batches=(2, 2), iters=1, warmup=0, **small) if dry else {}),
        'training.ddp_equivalence':
        (ddp.equivalence, dict(stub='stub' in env['mmcv_ext'], **small)),
    }
    total = args.total_budget or (900. if dry else 450.) * args.budget_scale
    for name, gpu_s, dry_s in BUDGETS:
        if args.sections and not name.startswith(tuple(args.sections)):
            continue
        left = total - (time.monotonic() - check.t0)
        budget = min((dry_s if dry else gpu_s) * args.budget_scale, left)
        if budget < 5:
            check.res['sections'][name] = dict(
                status='skipped',
                seconds=0.,
                budget_s=0.,
                error='total budget spent')
            continue
        fn, kwargs = sections[name]
        check.run(name, budget, fn, device, grace=10., **kwargs)
    check.write()
    bad = [n for n, e in check.res['sections'].items() if e['status'] != 'ok']
    log(f'report: {osp.join(args.out, "report.md")} '
        f'({check.res["wall_s"]:.0f} s); not ok: {bad or "none"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
