"""The markdown report, the targets and the summary."""
import os.path as osp


import json
import os

from .figure import write_figure
from .models import BLITZNETS, MODELS, PEERS, STAGES, TRAINED


def ms(x):
    return f'{x * 1e3:.1f}'


def write_report(res, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'benchmark.json'), 'w') as f:
        json.dump(res, f, indent=1)
    mach, pk = res['machine'], res['peaks_gflops']
    low = [k for k in pk if k != 'fp32'][0]
    L = [
        '# Benchmark: BlitzNet beside its peers', '',
        f'Written by `{res["command"]}` on {res["date"]} '
        f'({res["wall_s"] / 60:.1f} min). Machine: {mach["cpu"]}, '
        f'{mach["cores"]} cores, torch {mach["torch"]} with '
        f'{mach["torch_threads"]} threads ({mach["cpu_capability"]}), '
        f'device `{mach["device"]}`'
        + (f' ({mach["gpu"]})' if 'gpu' in mach else '') + '.', '',
        'Matrix-product peak (best of square products of 1k-3k, measured '
        f'at the start and the end of this run): fp32 {pk["fp32"]:.0f} '
        f'GFLOP/s, {low} {pk[low]:.0f} GFLOP/s. FLOPs = 2 x multiply-adds '
        '(mmengine analyzer); the FLOP floor is FLOPs / peak. Randomly '
        'initialised weights, real coco_mini images resized to the input '
        'size; latency is per image, median over the runs after warm-up '
        '(p25-p75 in brackets). The paths of a model are timed interleaved '
        '(4 rounds of A, B, C, ...), so drifts of a shared machine fall on '
        'all alike; memory is the peak resident set of the process (CPU: '
        'every path of the model is resident) or peak allocated memory '
        '(CUDA) while the path ran.', '']
    inf = res['inference']
    write_figure(res, out_dir)
    L += ['![per-stage latency, batch 1](benchmark.png)', '',
          "Stages: trunk, neck and heads as the PyTorch model runs them; "
          "'graph' is an exported model's whole network with the softmax "
          "and the decoding of every anchor's box (the PyTorch paths decode "
          "only the candidates, inside 'decode+nms'); 'decode+nms' and "
          "'mask' are the same functions on every path.", '']
    if any('export' in r for r in inf):
        L += ['Export (tools/deployment/export.py): ' + '; '.join(
            f'{r["model"]}: ONNX {r["export"]["onnx_export_s"]:.0f} s, '
            f'{r["export"]["onnx_mib"]:.0f} MiB; OpenVINO IR +'
            f'{r["export"]["openvino_convert_s"]:.0f} s, '
            f'{r["export"]["openvino_mib"]:.0f} MiB'
            for r in inf if 'export' in r) + '.', '']
    for bs in res['batch_sizes']:
        L += [f'## Inference, batch {bs} (ms per image)', '',
              '| model | path | runs | total | ' + ' | '.join(STAGES)
              + ' | images/s | GFLOPs | GFLOP/s | x floor | peak mem (MiB) |',
              '|---' * (9 + len(STAGES)) + '|']
        for r in inf:
            for pname, byb in r['paths'].items():
                e = byb.get(str(bs))
                if e is None:
                    continue
                st = ' | '.join(ms(e['stages_s'][s]) if s in e['stages_s']
                                else '-' for s in STAGES)
                L.append(
                    f'| {r["model"]} | {pname} | {e["runs"]} | '
                    f'{ms(e["median_s"])} '
                    f'({ms(e["p25_s"])}-{ms(e["p75_s"])}) | {st} | '
                    f'{e["images_per_s"]:.2f} | {r["flops"] / 1e9:.1f} | '
                    f'{e["gflops_per_s"]:.0f} | {e["vs_floor"]:.2f} | '
                    f'{e["peak_mem_mib"]:.0f} |')
        L.append('')
    if res.get('ratios'):
        L += ['## BlitzNet versus two separate networks (batch 1, '
              'same path)', '',
              '| BlitzNet | path | / detector | / segmenter | '
              '/ (detector + segmenter) |', '|---|---|---|---|---|']
        for r in res['ratios']:
            L.append(f'| {r["model"]} vs {r["detector"]} + {r["segmenter"]}'
                     f' | {r["path"]} | {r["vs_det"]:.2f} | '
                     f'{r["vs_seg"]:.2f} | {r["vs_sum"]:.2f} |')
        L.append('')
    if res.get('postproc'):
        pp = res['postproc']
        L += ['## Box decoding + NMS versus candidate anchors', '',
              f'BlitzNet300 s4 (COCO head, 80 classes), scores from '
              f'{pp["score_source"]}; candidates are random subsets of the '
              'anchors of real images (their score distribution kept); '
              'median ms per image (detections kept in brackets). '
              f'End-to-end fp32 predict of this model: '
              f'{ms(pp["end_to_end_s"])} ms per image.', '',
              '| candidates | ' + ' | '.join(pp['strategies']) +
              ' | share of end-to-end (paper) |',
              '|---' * (len(pp['strategies']) + 2) + '|']
        first = pp['strategies'][0]
        for row in pp['rows']:
            cells = ' | '.join(
                f'{ms(row[s]["median_s"])} ({row[s]["detections"]:.0f})'
                for s in pp['strategies'])
            share = row[first]['median_s'] / pp['end_to_end_s']
            L.append(f'| {row["candidates"]} | {cells} | {share:.1%} |')
        L.append('')
    if res.get('training'):
        L += ['## Training throughput (300x300, real coco_mini images, '
              'forward + backward + SGD step)', '',
              '| model | precision | batch | s / iteration | images/s |',
              '|---|---|---|---|---|']
        for r in res['training']:
            L.append(f'| {r["model"]} | {r["precision"]} | {r["batch"]} | '
                     f'{r["iter_s"]:.2f} | {r["images_per_s"]:.2f} |')
        L.append('')
    if res.get('targets'):
        L += ['## Targets (issue 6)', '', '| target | measured | met |',
              '|---|---|---|']
        for t in res['targets']:
            L.append(f'| {t["target"]} | {t["measured"]} | '
                     f'{"yes" if t["met"] else "no"} |')
        L.append('')
    with open(osp.join(out_dir, 'benchmark.md'), 'w') as f:
        f.write('\n'.join(L))


def find(inf, model, path, bs='1'):
    for r in inf:
        if r['model'] == model and path in r['paths']:
            return r['paths'][path].get(bs)
    return None


def summarise(res, low_fast):
    inf, ratios, targets = res['inference'], [], []
    for name in BLITZNETS:
        size = MODELS[name][2]
        det, seg = PEERS[size]
        for path in ('fp32', low_fast):
            b, d, s = (find(inf, n, path) for n in (name, det, seg))
            if b and d and s:
                ratios.append(dict(
                    model=name, detector=det, segmenter=seg, path=path,
                    vs_det=b['median_s'] / d['median_s'],
                    vs_seg=b['median_s'] / s['median_s'],
                    vs_sum=b['median_s'] / (d['median_s'] + s['median_s'])))
    res['ratios'] = ratios
    main = 'BlitzNet300 s4'

    def add(target, value, ok, fmt='{:.2f}x'):
        targets.append(dict(target=target, measured=fmt.format(value),
                            met=bool(ok)))

    for model, label in ((main, 'random init'), (TRAINED, 'trained')):
        for path in ('fp32', 'fp32 fast'):
            e = find(inf, model, path)
            if e:
                add(f'{main} {path} <= 1.5x FLOP floor ({label}, batch 1)',
                    e['vs_floor'], e['vs_floor'] <= 1.5)
        e = find(inf, model, low_fast)
        if e:
            add(f'{main} {low_fast} <= 3x its floor ({label}, batch 1)',
                e['vs_floor'], e['vs_floor'] <= 3)
        for path in ('fp32', low_fast):
            e = find(inf, model, path)
            if e:
                share = e['stages_s']['decode+nms'] / e['median_s']
                add(f'decode + NMS <= 10% of end-to-end, 45,390 anchors '
                    f'({label}, {path})', share, share <= .1, '{:.1%}')
    for r in ratios:
        if r['model'] == main:
            add(f'{main} >= 3x faster than SSD300 ({r["path"]})',
                1 / r['vs_det'], r['vs_det'] <= 1 / 3)
            add(f'{main} <= 0.5x SSD300 + FCN ({r["path"]})', r['vs_sum'],
                r['vs_sum'] <= .5)
    res['targets'] = targets

