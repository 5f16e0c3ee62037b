"""Sections (b) and (c) of the GPU check: inference and training speed.

Inference: ``BlitzNet.predict`` end to end (network, decoding, NMS, label
maps) on real images, timed back to back with CUDA events and one
synchronisation per run of calls (``bench.machine.time_runs``); images/s
and peak allocated memory (MiB). Training: optimiser steps/s on one
preprocessed batch (the input pipeline is not in it)."""
import copy
import statistics

import torch

from blitznet_mm.analysis.bench.machine import (PeakMemory, cuda_settings,
                                                time_runs)
from blitznet_mm.analysis.bench.models import (MODELS, build, coco_images,
                                               make_batch)
from blitznet_mm.analysis.bench.postproc import coco_dataset
from blitznet_mm.analysis.bench.training import make_optim, train_step

# the target batch (32) is added for BlitzNet300 s4's reduced-precision
# paths, where the targets are
SPEED_MODELS = ('BlitzNet300 s4', 'BlitzNet512 s8')
TRAIN_MODELS = (('BlitzNet300 s4', 32), ('BlitzNet512 s8', 16))
TARGETS = {1: 150., 32: 2000.}  # BlitzNet300 s4 fp16/bf16 images/s


def low_paths(device):
    """{name: dtype} of the reduced-precision paths that run here: fp16 is
    emulated on CPUs (minutes per batch), so CPU runs bf16 only."""
    if device.type != 'cuda':
        return {'bf16': torch.bfloat16}
    p = {'fp16': torch.float16}
    if torch.cuda.is_bf16_supported():
        p['bf16'] = torch.bfloat16
    return p


def _images(n):
    imgs = coco_images(min(n, 20))
    return [imgs[i % len(imgs)] for i in range(n)]


def measure_predict(model, size, bs, dtype, runs, warmup, device):
    """Seconds per batch (median), images/s, peak MiB of ``predict``."""
    from blitznet_mm.utils import fast_inference
    inputs, samples = make_batch(model, 'blitznet', size, _images(bs), device)
    ctx = (lambda: fast_inference(device.type, dtype)) if dtype else \
        torch.no_grad
    with ctx():
        for _ in range(warmup):
            model.predict(inputs, samples)
        with PeakMemory(device) as mem:
            times = time_runs(lambda: model.predict(inputs, samples), runs,
                              device)
    med = statistics.median(times)
    return dict(
        batch=bs,
        runs=runs,
        batch_s=med,
        images_per_s=bs / med,
        peak_mem_mib=mem.peak)


def inference(device,
              deadline,
              batches=(1, 8),
              target_batch=32,
              runs=20,
              warmup=5):
    """Every (model, path, batch) row it has time for; a row that fails
    is recorded with its error and the others still run."""
    from blitznet_mm.utils import optimize_for_inference
    settings = cuda_settings(MODELS['BlitzNet300 s4'][1]) \
        if device.type == 'cuda' else {}
    rows, skipped = [], []
    deadline.partial = dict(rows=rows, skipped=skipped, settings=settings)
    for name in SPEED_MODELS:
        size = MODELS[name][2]
        base = build(name).to(device).eval()
        paths = {'fp32': (base, None)}
        for pname, dtype in low_paths(device).items():
            paths[f'{pname} fast'] = (optimize_for_inference(
                copy.deepcopy(base)), dtype)
        for pname, (model, dtype) in paths.items():
            sizes = list(batches)
            if name == 'BlitzNet300 s4' and dtype is not None:
                sizes.append(target_batch)
            for bs in sizes:
                label = f'{name} {pname} batch {bs}'
                if deadline.over(5.):
                    skipped.append(label)
                    continue
                n = max(1, runs if bs == 1 else runs // 2)
                try:
                    row = measure_predict(model, size, bs, dtype, n, warmup,
                                          device)
                except Exception as e:  # recorded; next row
                    row = dict(
                        batch=bs,
                        error=f'{type(e).__name__}: '
                        f'{str(e)[:400]}')
                row.update(model=name, path=pname)
                rows.append(row)
                print(
                    f'   {label}: ' + (f'{row["images_per_s"]:.1f} images/s' if
                                       'error' not in row else row['error']),
                    flush=True)
        del paths, base
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    return dict(
        rows=rows,
        skipped=skipped,
        settings=settings,
        targets=targets(rows, target_batch),
        ok=bool(rows) and not any('error' in r for r in rows))


def targets(rows, target_batch):
    out = []
    for r in rows:
        if r['model'] != 'BlitzNet300 s4' or r['path'] == 'fp32' or \
                'error' in r:
            continue
        need = {1: TARGETS[1], target_batch: TARGETS[32]}.get(r['batch'])
        if need:
            out.append(
                dict(
                    target=f'BlitzNet300 s4 {r["path"]} batch '
                    f'{r["batch"]} >= {need:.0f} images/s',
                    measured=r['images_per_s'],
                    met=r['images_per_s'] >= need))
    return out


def train_precisions(device):
    """(name, optim-wrapper kind, dtype): TF32, fp16 AMP (dynamic loss
    scale) and bf16 AMP through mmengine's AmpOptimWrapper on CUDA; on a
    CPU (dry run) fp32 and bf16 autocast (AmpOptimWrapper needs a GPU)."""
    if device.type != 'cuda':
        return [('fp32', 'plain', None),
                ('bf16 autocast', 'autocast', torch.bfloat16)]
    rows = [('tf32', 'plain', None), ('fp16 AMP', 'amp', torch.float16)]
    if torch.cuda.is_bf16_supported():
        rows.append(('bf16 AMP', 'amp', torch.bfloat16))
    return rows


def training(device, deadline, batches=None, iters=10, warmup=3, size=None):
    """Steps/s of each model and precision at its batch (300: 32, 512:
    16, or ``batches``) and input size (its own, or ``size`` px)."""
    from mmengine.dataset import pseudo_collate
    rows = []
    deadline.partial = dict(rows=rows)
    for (name, bs), b in zip(TRAIN_MODELS, batches or (None, None)):
        bs, side = b or bs, size or MODELS[name][2]
        ds = coco_dataset(side)
        data = pseudo_collate([ds[i % len(ds)] for i in range(bs)])
        model = build(name, num_det_classes=80).to(device).train()
        batch = model.data_preprocessor(data, True)
        for prec, kind, dtype in train_precisions(device):
            if deadline.over(10.):
                rows.append(
                    dict(
                        model=name,
                        precision=prec,
                        batch=bs,
                        input=side,
                        error='skipped: section budget spent'))
                continue
            row = dict(model=name, precision=prec, batch=bs, input=side)
            try:
                optim = make_optim(model, kind, dtype, device)
                amp = torch.autocast(
                    device.type, dtype=dtype, enabled=kind == 'autocast')
                for _ in range(warmup):
                    train_step(model, optim, batch, amp)
                with PeakMemory(device) as mem:
                    losses = []
                    times = time_runs(
                        lambda: losses.append(
                            train_step(model, optim, batch, amp)), iters,
                        device)
                med = statistics.median(times)
                row.update(
                    step_s=med,
                    steps_per_s=1 / med,
                    images_per_s=bs / med,
                    peak_mem_mib=mem.peak,
                    loss_finite=all(bool(torch.isfinite(v)) for v in losses),
                    wrapper=type(optim).__name__,
                    optimizer=type(optim.optimizer).__name__)
                scaler = getattr(optim, 'loss_scaler', None)
                if scaler is not None and scaler.is_enabled():
                    row['loss_scale'] = float(scaler.get_scale())
                optim = None  # its Adam state: before the next one
            except Exception as e:  # recorded; next row
                row['error'] = f'{type(e).__name__}: {str(e)[:400]}'
            rows.append(row)
            print(
                f'   train {name} {prec} batch {bs}: ' +
                (f'{row["steps_per_s"]:.2f} steps/s'
                 if 'error' not in row else row['error']),
                flush=True)
        model = batch = None
    return dict(
        rows=rows, ok=bool(rows) and not any('error' in r for r in rows))
