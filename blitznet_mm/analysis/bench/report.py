"""The markdown report, the targets and the summary."""
import json
import os
import os.path as osp

from .figure import write_figure
from .models import BLITZNETS, MODELS, PEERS, STAGES, TRAINED


def ms(x):
    return f'{x * 1e3:.1f}'


# hand-written sections of docs/benchmark.md, kept across `make bench`
# runs (appended after the generated ones): the pipeline speed-up's before
# / after, and the GPU check, which runs on another machine
KEPT = ('## Training input pipeline', '## GPU')


def kept_sections(path, headings=KEPT):
    """The sections of an earlier report at ``path`` whose heading line is
    one of ``headings`` (each up to the next '## ' heading), joined; '' if
    none."""
    if not osp.isfile(path):
        return ''
    lines = open(path).read().split('\n')
    out = []
    for i, line in enumerate(lines):
        if line.strip() in headings:
            end = next((j for j in range(i + 1, len(lines))
                        if lines[j].startswith('## ')), len(lines))
            out.append('\n'.join(lines[i:end]).rstrip() + '\n')
    return '\n'.join(out)


def peak_text(res):
    """The peak sentence: sizes from the run (1k-3k on CPU, 4k-8k on
    CUDA); the fp32 peak is named TF32 where the run allowed it."""
    pk, sizes = res['peaks_gflops'], res.get('peak_sizes', [1024, 3072])
    tf32 = res.get('cuda_settings', {}).get('cudnn_allow_tf32', False)
    names = ', '.join(f'{"TF32" if k == "fp32" and tf32 else k} {v:.0f} '
                      'GFLOP/s' for k, v in pk.items())
    span = '-'.join(
        dict.fromkeys(f'{n // 1024}k' for n in (sizes[0], sizes[-1])))
    return (f'Matrix-product peak (best of square products of {span}, '
            f'measured at the start and the end of this run): {names}.')


def write_report(res, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    kept = kept_sections(osp.join(out_dir, 'benchmark.md'))
    with open(osp.join(out_dir, 'benchmark.json'), 'w') as f:
        json.dump(res, f, indent=1)
    mach = res['machine']
    L = [
        '# Benchmark: BlitzNet beside its peers', '',
        f'Written by `{res["command"]}` on {res["date"]} '
        f'({res["wall_s"] / 60:.1f} min). Machine: {mach["cpu"]}, '
        f'{mach["cores"]} cores, torch {mach["torch"]} with '
        f'{mach["torch_threads"]} threads ({mach["cpu_capability"]}), '
        f'device `{mach["device"]}`' +
        (f' ({mach["gpu"]})' if 'gpu' in mach else '') + '.', '',
        peak_text(res) + ' FLOPs = 2 x multiply-adds '
        '(mmengine analyzer); the FLOP floor is FLOPs / peak. Randomly '
        'initialised weights, real coco_mini images resized to the input '
        'size; latency is per image, median over the runs after warm-up '
        '(p25-p75 in brackets). The paths of a model are timed interleaved '
        '(4 rounds of A, B, C, ...), so drifts of a shared machine fall on '
        'all alike; memory is the peak resident set of the process (CPU: '
        'every path of the model is resident) or peak allocated memory '
        '(CUDA) while the path ran. "end to end" times the same calls '
        'without the per-stage synchronisations, back to back (on CUDA '
        'with CUDA events and one synchronisation per run of calls).', ''
    ]
    if res.get('cuda_settings'):
        cs = res['cuda_settings']
        L += [
            f'CUDA settings (PyTorch defaults, as tools/test.py runs): '
            f'cuDNN TF32 {cs["cudnn_allow_tf32"]}, matmul TF32 '
            f'{cs["matmul_allow_tf32"]}, cudnn.benchmark '
            f'{cs["cudnn_benchmark"]} (env_cfg of '
            f'{osp.basename(cs["config"])}); the "fp32" rows run their '
            'convolutions in TF32.', ''
        ]
    inf = res['inference']
    write_figure(res, out_dir)
    L += [
        '![per-stage latency, batch 1](benchmark.png)', '',
        "Stages: trunk, neck and heads as the PyTorch model runs them; "
        "'graph' is an exported model's whole network with the softmax "
        "and the decoding of every anchor's box (the PyTorch paths decode "
        "only the candidates, inside 'decode+nms'); 'decode+nms' and "
        "'mask' are the same functions on every path.", ''
    ]
    made = [r for r in inf if 'onnx_export_s' in r.get('export', {})]
    if made:
        L += [
            'Export (tools/deployment/export.py): ' + '; '.join(
                f'{r["model"]}: ONNX {r["export"]["onnx_export_s"]:.0f} s, '
                f'{r["export"]["onnx_mib"]:.0f} MiB; OpenVINO IR +'
                f'{r["export"]["openvino_convert_s"]:.0f} s, '
                f'{r["export"]["openvino_mib"]:.0f} MiB'
                for r in made) + '.', ''
        ]
    L += [
        f'{r["model"]}: the export {r["export"]["reused"]} run as it is '
        '(--exported).' for r in inf if 'reused' in r.get('export', {})
    ]
    for bs in res['batch_sizes']:
        L += [
            f'## Inference, batch {bs} (ms per image)', '',
            '| model | path | runs | total | ' + ' | '.join(STAGES) +
            ' | images/s | end to end | GFLOPs | GFLOP/s | x floor | '
            'peak mem (MiB) |', '|---' * (10 + len(STAGES)) + '|'
        ]
        for r in inf:
            for pname, byb in r['paths'].items():
                e = byb.get(str(bs))
                if e is None:
                    continue
                st = ' | '.join(
                    ms(e['stages_s'][s]) if s in e['stages_s'] else '-'
                    for s in STAGES)
                L.append(
                    f'| {r["model"]} | {pname} | {e["runs"]} | '
                    f'{ms(e["median_s"])} '
                    f'({ms(e["p25_s"])}-{ms(e["p75_s"])}) | {st} | '
                    f'{e["images_per_s"]:.2f} | ' +
                    (ms(e['end_to_end_s']) if 'end_to_end_s' in e else '-') +
                    f' | {r["flops"] / 1e9:.1f} | '
                    f'{e["gflops_per_s"]:.0f} | {e["vs_floor"]:.2f} | '
                    f'{e["peak_mem_mib"]:.0f} |')
        L.append('')
    if res.get('ratios'):
        L += [
            '## BlitzNet versus two separate networks (batch 1, '
            'same path)', '', '| BlitzNet | path | / detector | / segmenter | '
            '/ (detector + segmenter) |', '|---|---|---|---|---|'
        ]
        for r in res['ratios']:
            L.append(f'| {r["model"]} vs {r["detector"]} + {r["segmenter"]}'
                     f' | {r["path"]} | {r["vs_det"]:.2f} | '
                     f'{r["vs_seg"]:.2f} | {r["vs_sum"]:.2f} |')
        L.append('')
    if res.get('postproc'):
        pp = res['postproc']
        L += [
            '## Box decoding + NMS versus candidate anchors', '',
            f'BlitzNet300 s4 (COCO head, 80 classes), scores from '
            f'{pp["score_source"]}; candidates are random subsets of the '
            'anchors of real images (their score distribution kept); '
            'median ms per image (detections kept in brackets). '
            f'End-to-end fp32 predict of this model: '
            f'{ms(pp["end_to_end_s"])} ms per image.', '', '| candidates | ' +
            ' | '.join(pp['strategies']) + ' | share of end-to-end (paper) |',
            '|---' * (len(pp['strategies']) + 2) + '|'
        ]
        first = pp['strategies'][0]
        for row in pp['rows']:
            cells = ' | '.join(
                f'{ms(row[s]["median_s"])} ({row[s]["detections"]:.0f})'
                for s in pp['strategies'])
            share = row[first]['median_s'] / pp['end_to_end_s']
            L.append(f'| {row["candidates"]} | {cells} | {share:.1%} |')
        L.append('')
    if res.get('training'):
        L += [
            '## Training throughput (300x300, real coco_mini images, '
            'forward + backward + optimiser step)', '',
            '| model | precision | optimiser | batch | s / iteration | '
            'images/s |', '|---|---|---|---|---|---|'
        ]
        for r in res['training']:
            opt = (f'{r.get("optimizer", "SGD")} '
                   f'({r.get("wrapper", "OptimWrapper")})')
            L.append(f'| {r["model"]} | {r["precision"]} | {opt} | '
                     f'{r["batch"]} | {r["iter_s"]:.3f} | '
                     f'{r["images_per_s"]:.2f} |')
        L.append('')
    if res.get('pipeline'):
        L += pipeline_lines(res['pipeline'])
    if res.get('targets'):
        L += [
            '## Targets (issue 6)', '', '| target | measured | met |',
            '|---|---|---|'
        ]
        for t in res['targets']:
            L.append(f'| {t["target"]} | {t["measured"]} | '
                     f'{"yes" if t["met"] else "no"} |')
        L.append('')
    if kept:
        L += [kept]
    with open(osp.join(out_dir, 'benchmark.md'), 'w') as f:
        f.write('\n'.join(L))


def pipeline_lines(pipe) -> list:
    """The training-input-pipeline section (``bench/pipeline.py``): its
    own ``markdown`` lines where it gives them, else its json."""
    if isinstance(pipe, dict) and pipe.get('markdown'):
        return list(pipe['markdown']) + ['']
    return [
        '## Training input pipeline, this run', '', '```',
        json.dumps(pipe, indent=1), '```', ''
    ]


def find(inf, model, path, bs='1'):
    for r in inf:
        if r['model'] == model and path in r['paths']:
            return r['paths'][path].get(bs)
    return None


def summarise(res, low_fast):
    inf, ratios, targets = res['inference'], [], []
    for name in BLITZNETS:
        size = MODELS[name][2]
        if size not in PEERS:  # the joint models at 320: no peer rows
            continue
        det, seg = PEERS[size]
        for path in ('fp32', low_fast):
            b, d, s = (find(inf, n, path) for n in (name, det, seg))
            if b and d and s:
                ratios.append(
                    dict(
                        model=name,
                        detector=det,
                        segmenter=seg,
                        path=path,
                        vs_det=b['median_s'] / d['median_s'],
                        vs_seg=b['median_s'] / s['median_s'],
                        vs_sum=b['median_s'] /
                        (d['median_s'] + s['median_s'])))
    res['ratios'] = ratios
    main = 'BlitzNet300 s4'

    def add(target, value, ok, fmt='{:.2f}x'):
        targets.append(
            dict(target=target, measured=fmt.format(value), met=bool(ok)))

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
                add(
                    f'decode + NMS <= 10% of end-to-end, 45,390 anchors '
                    f'({label}, {path})', share, share <= .1, '{:.1%}')
    for r in ratios:
        if r['model'] == main:
            add(f'{main} >= 3x faster than SSD300 ({r["path"]})',
                1 / r['vs_det'], r['vs_det'] <= 1 / 3)
            add(f'{main} <= 0.5x SSD300 + FCN ({r["path"]})', r['vs_sum'],
                r['vs_sum'] <= .5)
    res['targets'] = targets
