"""Per-stage inference latency of one model on each precision path."""
import copy
import statistics
import time

import numpy as np
import torch
from mmengine.analysis import get_model_complexity_info

from blitznet_mm.models.detectors.dense_head_adapter import (
    det_predict_by_feat, head_outputs)
from blitznet_mm.utils import default_dtype, optimize_for_inference
from .backends import exported_paths, staged_backend
from .machine import PeakMemory, sync, time_runs
from .models import MODELS, STAGES, TRAINED, build, make_batch

# exported (ONNX Runtime, OpenVINO) beside the PyTorch paths
BACKEND_MODELS = ('BlitzNet300 s4', TRAINED)


def staged_forward(model, family, inputs, samples, autocast, laps=True):
    """One inference, the same calls as ``model.predict``, timed per stage
    (a synchronisation after each); returns {stage: seconds}. With
    ``laps=False`` nothing is synchronised or timed (the end-to-end row)."""
    device = inputs.device
    t = {}
    clock = [time.perf_counter()]

    def lap(stage):
        if not laps:
            return
        sync(device)
        now = time.perf_counter()
        t[stage] = now - clock[0]
        clock[0] = now

    metas = [s.metainfo for s in samples]
    with autocast:
        feats = model.backbone(inputs)
        lap('backbone')
        if family == 'fcn':
            t['neck'] = 0.
            logits = model.decode_head.predict(feats, metas, model.test_cfg)
            lap('heads')
        else:
            feats = model.neck(feats)
            lap('neck')
            # the detector's own dispatch (BlitzNet.predict calls the same)
            heads = head_outputs(model, feats)
            det, seg = heads['det'], heads.get('seg')
            lap('heads')
    with torch.autocast(device.type, enabled=False):
        if family == 'fcn':
            t['decode+nms'] = 0.
            model.postprocess_result(logits.float(), samples)
            lap('mask')
        else:
            det_predict_by_feat(model.bbox_head, det, metas, rescale=True)
            lap('decode+nms')
            if seg is not None:
                model.seg_head.predict_by_feat(seg.float().contiguous(), metas)
            lap('mask')
    return t


def flops_per_image(model, size) -> float:
    """Multiply-adds x 2, mmengine's analyzer at batch 1."""
    m = copy.deepcopy(model).cpu().float()
    with torch.no_grad():
        info = get_model_complexity_info(
            m, input_shape=(3, size, size), show_table=False, show_arch=False)
    return 2. * info['flops']


def low_precisions(device) -> dict:
    """{name: dtype} of the reduced-precision paths: bf16 on CPU; fp16, and
    bf16 where the GPU has it, on CUDA."""
    if device.type != 'cuda':
        return {'bf16': torch.bfloat16}
    low = {'fp16': torch.float16}
    if torch.cuda.is_bf16_supported():
        low['bf16'] = torch.bfloat16
    return low


def precision_name(dtype) -> str:
    return {
        torch.bfloat16: 'bf16',
        torch.float16: 'fp16',
        torch.float32: 'fp32'
    }[dtype]


def paths(device, compile=False):
    """The PyTorch paths: 'fp32' as ``tools/test.py`` runs (on CUDA with
    PyTorch's TF32 default for convolutions), 'fp32 fast' (BN folded,
    channels-last, inference mode) and one reduced-precision fast path per
    ``low_precisions``."""
    low = default_dtype(device.type)
    low_name = precision_name(low)
    p = {
        'fp32': dict(optimize=False, autocast=False),
        'fp32 fast': dict(optimize=True, autocast=False),
    }
    for name, dtype in low_precisions(device).items():
        p[f'{name} fast'] = dict(optimize=True, autocast=True, dtype=dtype)
    if compile:
        p[f'{low_name} fast + compile'] = dict(
            optimize=True, autocast=True, dtype=low, compile=True)
    return p


def _interleaved(prepared, args, runs, device, rounds=4):
    """Warm-up of every path, then ``runs`` timed calls per path in
    ``rounds`` interleaved blocks (A B C A B C ...), so that slow drifts of
    a shared machine fall on all paths alike; the laps and peak memory per
    path."""
    laps = {p: [] for p in prepared}
    peak = {p: 0. for p in prepared}
    incr = {p: 0. for p in prepared}
    for pname, (run, inputs, samples, grad) in prepared.items():
        with grad():
            for _ in range(args.warmup):
                run(inputs, samples)
    rounds = max(1, min(rounds, runs))
    for r in range(rounds):
        n = runs // rounds + (r < runs % rounds)
        for pname, (run, inputs, samples, grad) in prepared.items():
            with grad(), PeakMemory(device) as mem:
                laps[pname] += [run(inputs, samples) for _ in range(n)]
            peak[pname] = max(peak[pname], mem.peak)
            incr[pname] = max(incr[pname], mem.increase)
    return laps, peak, incr


def _end_to_end(prepared, runs, device):
    """Per path, seconds per batch of the same calls with no stage
    synchronisation, back to back, timed by ``time_runs`` (CUDA events, one
    synchronisation); None where the path has no such mode (exported). No
    warm-up of its own: the staged runs just ran the same calls."""
    out = {}
    for pname, (run, inputs, samples, grad) in prepared.items():
        e2e = getattr(run, 'end_to_end', None)
        if e2e is None:
            out[pname] = None
            continue
        with grad():
            out[pname] = time_runs(lambda: e2e(inputs, samples), runs, device)
    return out


def _entry(laps, peak_mem, mem_increase, bs, runs, flops, peak):
    total = [sum(lp.values()) / bs for lp in laps]
    q = np.percentile(total, [25, 50, 75])
    entry = dict(
        batch=bs,
        runs=runs,
        median_s=float(q[1]),
        p25_s=float(q[0]),
        p75_s=float(q[2]),
        # a stage a path does not have (the exported graph's inside) is left
        # out, not reported as 0
        stages_s={
            s: statistics.median(lp[s] for lp in laps) / bs
            for s in STAGES if s in laps[0]
        },
        images_per_s=1. / float(q[1]),
        peak_mem_mib=peak_mem,
        mem_increase_mib=mem_increase,
        gflops_per_s=flops / float(q[1]) / 1e9,
        floor_s=flops / (peak * 1e9))
    entry['vs_floor'] = entry['median_s'] / entry['floor_s']
    return entry


def bench_inference(name,
                    args,
                    device,
                    images,
                    peaks,
                    model=None,
                    batch_sizes=None,
                    runs_batch=None):
    """Latency of ``MODELS[name]`` (or ``model``) on each path and batch
    size; the models of ``BACKEND_MODELS`` on a CPU also exported
    (``args.backends``); returns a json-able dict."""
    family, config, size = MODELS[name]
    if model is None:
        model = build(name)
    flops = flops_per_image(model, size)
    res = dict(
        model=name,
        family=family,
        input=size,
        flops=flops,
        params=sum(p.numel() for p in model.parameters()),
        paths={})
    compile = args.compile and name == 'BlitzNet300 s4'
    runners = {}
    for pname, p in paths(device, compile).items():

        def runner(pname=pname, p=p):
            m = optimize_for_inference(copy.deepcopy(model),
                                       compile=p.get('compile', False)) \
                if p['optimize'] else model
            amp = torch.autocast(
                device.type, dtype=p.get('dtype'), enabled=p['autocast'])

            def run(i, s):
                return staged_forward(m, family, i, s, amp)

            run.end_to_end = lambda i, s: staged_forward(
                m, family, i, s, amp, laps=False)
            return (m.to(device), run,
                    torch.inference_mode if p['optimize'] else torch.no_grad)

        runners[pname] = runner
    if args.backends and name in BACKEND_MODELS and device.type == 'cpu':
        exported, res['export'] = exported_paths(
            model,
            config,
            size,
            device,
            onnx=getattr(args, 'exported', None) if name == TRAINED else None)
        for pname, m in exported.items():
            runners[pname] = lambda m=m: (m, lambda i, s: staged_backend(
                m, i, s), torch.no_grad)
    built = {pname: make() for pname, make in runners.items()}
    for pname in built:
        res['paths'][pname] = {}
    for bs in batch_sizes or args.batch_sizes:
        runs = max(1, args.runs if bs == 1 else
                   (runs_batch or args.runs_batch))
        prepared = {
            pname:
            (run, *make_batch(m, family, size, images[:bs], device), grad)
            for pname, (m, run, grad) in built.items()
        }
        laps, peak_mem, incr = _interleaved(prepared, args, runs, device)
        e2e = _end_to_end(prepared, runs, device)
        for pname in built:
            peak = peaks[pname.split()[0]]
            entry = _entry(laps[pname], peak_mem[pname], incr[pname], bs, runs,
                           flops, peak)
            if e2e[pname]:
                entry['end_to_end_s'] = statistics.median(e2e[pname]) / bs
                entry['end_to_end_images_per_s'] = 1. / entry['end_to_end_s']
            res['paths'][pname][str(bs)] = entry
            print(
                f'  {name:24s} {pname:16s} batch {bs}: '
                f'{entry["median_s"] * 1e3:7.1f} ms/img '
                f'({entry["vs_floor"]:.2f}x floor)' +
                (f', end to end {entry["end_to_end_s"] * 1e3:.1f} ms/img'
                 if e2e[pname] else ''),
                flush=True)
    del built
    return res
