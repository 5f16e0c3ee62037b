"""The GPU check's markdown report, from its json (``guard.Check.res``)."""
import json


def _f(x, fmt='{:.1f}'):
    return fmt.format(x) if isinstance(x, (int, float)) else '-'


def _env(env):
    keys = ('python', 'torch', 'cuda', 'cudnn', 'gpu', 'capability',
            'gpu_count', 'mmengine', 'mmcv', 'mmdet', 'mmseg', 'torchvision',
            'onnxruntime', 'onnxruntime_providers', 'numpy', 'cv2', 'mmcv_ext',
            'mmcv_nms', 'blitznet_mm', 'installed', 'missing_modules', 'log')
    return ['| | |', '|---|---|'] + [
        f'| {k} | {env[k]} |' for k in keys if k in env and env[k] != []
    ]


def _speed(res):
    L = [
        '| model | path | batch | images/s | ms per batch | peak MiB | '
        'runs |', '|---|---|---|---|---|---|---|'
    ]
    for r in res.get('rows', []):
        if 'error' in r:
            L.append(f'| {r["model"]} | {r["path"]} | {r["batch"]} | '
                     f'error: {r["error"][:200]} | | | |')
            continue
        L.append(f'| {r["model"]} | {r["path"]} | {r["batch"]} | '
                 f'{r["images_per_s"]:.1f} | {r["batch_s"] * 1e3:.2f} | '
                 f'{_f(r["peak_mem_mib"], "{:.0f}")} | {r["runs"]} |')
    if res.get('skipped'):
        L += [
            '', 'Not run (section budget spent): ' + ', '.join(res['skipped'])
        ]
    if res.get('settings'):
        L += ['', f'CUDA settings: {res["settings"]}']
    if res.get('targets'):
        L += ['', '| target | measured images/s | met |', '|---|---|---|']
        L += [
            f'| {t["target"]} | {t["measured"]:.1f} | '
            f'{"yes" if t["met"] else "no"} |' for t in res['targets']
        ]
    return L


def _train(res):
    L = [
        '| model | precision | input | batch | steps/s | images/s | '
        'peak MiB | loss finite | loss scale |',
        '|---|---|---|---|---|---|---|---|---|'
    ]
    for r in res.get('rows', []):
        if 'error' in r:
            L.append(f'| {r["model"]} | {r["precision"]} | {r["input"]} | '
                     f'{r["batch"]} | error: {r["error"][:200]} | | | | |')
            continue
        L.append(f'| {r["model"]} | {r["precision"]} | {r["input"]} | '
                 f'{r["batch"]} | {r["steps_per_s"]:.2f} | '
                 f'{r["images_per_s"]:.1f} | '
                 f'{_f(r["peak_mem_mib"], "{:.0f}")} | {r["loss_finite"]} | '
                 f'{r.get("loss_scale", "-")} |')
    return L


RENDER = {'speed.inference': _speed, 'speed.training': _train}

HEADER = """# GPU check (tools/analysis/gpu_check.py)

Sections run one after the other, each with its own time budget; a
section that fails or runs out of time is recorded here and the next one
still runs. Models are randomly initialised, inputs are the real images of
data/samples. Inference rows time `BlitzNet.predict` end to end (network,
decoding, NMS, label maps) back to back, with CUDA events and one
synchronisation per run of calls; training rows time optimiser steps on one
preprocessed batch (no input pipeline)."""


def render(res) -> str:
    L = [HEADER, '']
    if res.get('dry_run'):
        L += [
            '**Dry run** (tiny iteration counts and batches): the numbers '
            'below only show that every section runs; they are not '
            'measurements.', ''
        ]
    L += [
        f'Started {res.get("started")}, {res.get("wall_s", 0):.0f} s in '
        'all.', '', '## Environment', ''
    ] + _env(res.get('env', {})) + ['']
    if 'stub' in str(res.get('env', {}).get('mmcv_ext', '')):
        L += [
            'mmcv was installed without its compiled ops (mmcv-lite); '
            '`mmcv._ext` is a stand-in (gpu_check/mmcv_ext_stub.py) '
            'whose NMS is torchvision\'s. NMS timings are therefore '
            'torchvision\'s, not mmcv\'s CUDA kernel\'s.', ''
        ]
    L += [
        '## Sections', '', '| section | status | seconds | CPU s | '
        'budget s | ok |', '|---|---|---|---|---|---|'
    ]
    for name, e in res['sections'].items():
        ok = (e.get('result') or {}).get('ok', '') \
            if isinstance(e.get('result'), dict) else ''
        L.append(f'| {name} | {e["status"]} | {e["seconds"]:.1f} | '
                 f'{_f(e.get("cpu_s"))} | {e["budget_s"]:.0f} | {ok} |')
    L.append('')
    for name, e in res['sections'].items():
        L += [f'### {name}', '']
        if 'error' in e:
            L += ['```', e.get('traceback', e['error'])[-2000:], '```', '']
        result = e.get('result')
        if result is None:
            continue
        if name in RENDER:
            L += RENDER[name](result) + ['']
        else:
            L += [
                '```json',
                json.dumps(result, indent=1, default=str)[:4000], '```', ''
            ]
    return '\n'.join(L)
