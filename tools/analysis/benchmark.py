"""BlitzNet beside its peers, measured in one run on one machine (issue 6).

    python tools/analysis/benchmark.py            # = make bench
    python tools/analysis/benchmark.py --quick --models "BlitzNet300 s8" \\
        --no-peers --no-train --no-postproc --out-dir /tmp/bench

Writes ``<out-dir>/benchmark.md`` (tables, machine described) and
``<out-dir>/benchmark.json``. Sections:

1. a matrix-product peak (fp32 and bf16 on CPU, fp32 and fp16 on CUDA);
2. per-image inference latency (median and interquartile spread, batch 1
   and 8) of BlitzNet300 s4 / 300 s8 / 512 s8, mmdet SSD300 / SSD512 (VGG16)
   and mmseg FCN R50-D8 at the same input sizes, broken into backbone, neck,
   heads, box decoding + NMS and mask upsampling + argmax; images/s; peak
   memory; FLOPs, achieved GFLOP/s and the FLOP floor (FLOPs / peak); each
   for fp32 (what ``tools/test.py`` runs), the exact fast path (BN folded,
   channels-last, inference mode) and the reduced-precision fast path
   (``blitznet_mm.utils.fast_inference``);
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
import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import mmcv  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.analysis import get_model_complexity_info  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.hub import get_config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import blitznet_mm  # noqa: E402,F401
from blitznet_mm.compat import give_ssd_head_loss_cls  # noqa: E402
from blitznet_mm.utils import (default_dtype, fast_inference,  # noqa: E402
                               optimize_for_inference)

COCO_MINI = os.environ.get('BLITZNET_COCO_MINI',
                           osp.join(_ROOT, 'data', 'samples'))
CFG = osp.join(_ROOT, 'configs')
# name -> (family, config, input size)
MODELS = {
    'BlitzNet300 s4': ('blitznet', osp.join(CFG, 'blitznet300_voc.py'), 300),
    'BlitzNet300 s8': ('blitznet', osp.join(CFG, 'blitznet300_s8_voc.py'),
                       300),
    'BlitzNet512 s8': ('blitznet', osp.join(CFG, 'blitznet512_voc.py'), 512),
    'SSD300 (mmdet)': ('ssd', 'mmdet::ssd/ssd300_coco.py', 300),
    'SSD512 (mmdet)': ('ssd', 'mmdet::ssd/ssd512_coco.py', 512),
    'FCN R50-D8 @300 (mmseg)':
    ('fcn', 'mmseg::fcn/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py', 300),
    'FCN R50-D8 @512 (mmseg)':
    ('fcn', 'mmseg::fcn/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py', 512),
}
BLITZNETS = [k for k, v in MODELS.items() if v[0] == 'blitznet']
# extra rows: the 80-class head, random and trained (post-processing)
COCO_BLITZNET = 'BlitzNet300 s4 (COCO head)'
TRAINED = 'BlitzNet300 s4 (COCO head, trained)'
MODELS[COCO_BLITZNET] = MODELS[TRAINED] = (
    'blitznet', osp.join(CFG, 'blitznet300_coco.py'), 300)
PEERS = {300: ('SSD300 (mmdet)', 'FCN R50-D8 @300 (mmseg)'),
         512: ('SSD512 (mmdet)', 'FCN R50-D8 @512 (mmseg)')}
STAGES = ('backbone', 'neck', 'heads', 'decode+nms', 'mask')


# --------------------------------------------------------------- machine
def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def machine(device) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    info = dict(cpu=cpu, cores=os.cpu_count(),
                torch_threads=torch.get_num_threads(),
                torch=torch.__version__, python=platform.python_version(),
                cpu_capability=torch.backends.cpu.get_cpu_capability(),
                device=str(device))
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


def matmul_peak(device, dtype, runs: int = 5, trials: int = 3) -> float:
    """Best GFLOP/s (2 n^3 per product) of square matrix products over
    sizes and trials (the best, not the mean: the floor must not be made
    easy by a slow moment of a shared machine)."""
    best = 0.
    sizes = (2048, 4096) if device.type == 'cuda' else (1024, 2048, 3072)
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(2):
            a @ b
        for _ in range(trials):
            sync(device)
            t = time.perf_counter()
            for _ in range(runs):
                a @ b
            sync(device)
            best = max(best,
                       2 * n**3 * runs / (time.perf_counter() - t) / 1e9)
    return best


class PeakMemory:
    """Peak resident memory (CPU: VmHWM, reset through clear_refs) or peak
    allocated CUDA memory, in MiB, over a ``with`` block."""

    def __init__(self, device):
        self.device = device

    @staticmethod
    def _status(key):
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        return float('nan')

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device) / 2**20
        else:
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')  # resets VmHWM to the current RSS
            except OSError:
                pass
            self.base = self._status('VmRSS')
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            self.peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            self.peak = self._status('VmHWM')
        self.increase = self.peak - self.base


# ---------------------------------------------------------------- models
def build(name: str, num_det_classes: int = 20):
    """A randomly initialised model of ``MODELS[name]``, in eval mode."""
    family, path, size = MODELS[name]
    cfg = get_config(path) if '::' in path else Config.fromfile(path)
    m = cfg.model
    if family == 'fcn':
        from mmseg.registry import MODELS as REG
        from mmseg.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        m.pretrained = None
        m.data_preprocessor.size = (size, size)
    else:
        from mmdet.registry import MODELS as REG
        from mmdet.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        m.backbone.init_cfg = None
        if family == 'blitznet':  # one count for both heads
            m.num_classes = num_det_classes
        else:
            m.bbox_head.num_classes = num_det_classes
    with DefaultScope.overwrite_default_scope(
            'mmseg' if family == 'fcn' else 'mmdet'):
        model = REG.build(m)
    logger = MMLogger.get_current_instance()
    level, logger.level = logger.level, 40  # init_weights logs each tensor
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    model = revert_sync_batchnorm(model)  # mmseg configs use SyncBN
    if family == 'ssd':
        give_ssd_head_loss_cls(model)  # blitznet_mm/compat
    return model.eval()


def coco_images(num: int):
    root = osp.join(COCO_MINI, 'train2017')
    if not osp.isdir(root):
        raise FileNotFoundError(f'{root}: the benchmark runs on real '
                                'images; set BLITZNET_COCO_MINI')
    names = sorted(os.listdir(root))[:num]
    return [mmcv.imread(osp.join(root, n)) for n in names]


def make_batch(model, family, size, images, device):
    """Real images resized to size x size, through the model's own data
    preprocessor (outside the timed region)."""
    if family == 'fcn':
        from mmseg.structures import SegDataSample as Sample
    else:
        from mmdet.structures import DetDataSample as Sample
    inputs, samples = [], []
    for img in images:
        h, w = img.shape[:2]
        resized = mmcv.imresize(img, (size, size))
        inputs.append(torch.from_numpy(resized).permute(2, 0, 1).contiguous())
        meta = dict(ori_shape=(h, w), img_shape=(size, size),
                    scale_factor=(size / w, size / h), pad_shape=(size, size))
        samples.append(Sample(metainfo=meta))
    model.to(device)
    data = model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples), False)
    return data['inputs'], data['data_samples']


def staged_forward(model, family, inputs, samples, autocast):
    """One inference, the same calls as ``model.predict``, timed per stage;
    returns {stage: seconds}."""
    device = inputs.device
    t = {}
    clock = [time.perf_counter()]

    def lap(stage):
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
            det = model.bbox_head(feats)
            seg = model.seg_head(feats) if getattr(
                model, 'with_seg', False) else None
            lap('heads')
    with torch.autocast(device.type, enabled=False):
        if family == 'fcn':
            t['decode+nms'] = 0.
            model.postprocess_result(logits.float(), samples)
            lap('mask')
        else:
            cls_scores, bbox_preds = ([x.float() for x in lvl] for lvl in det)
            model.bbox_head.predict_by_feat(cls_scores, bbox_preds,
                                            batch_img_metas=metas,
                                            rescale=True)
            lap('decode+nms')
            if seg is not None:
                model.seg_head.predict_by_feat(seg.float().contiguous(),
                                               metas)
            lap('mask')
    return t


def flops_per_image(model, size) -> float:
    """Multiply-adds x 2, mmengine's analyzer at batch 1."""
    m = copy.deepcopy(model).cpu().float()
    with torch.no_grad():
        info = get_model_complexity_info(m, input_shape=(3, size, size),
                                         show_table=False, show_arch=False)
    return 2. * info['flops']


def paths(device, compile=False):
    low = default_dtype(device.type)
    low_name = {torch.bfloat16: 'bf16', torch.float16: 'fp16'}[low]
    p = {
        'fp32': dict(optimize=False, autocast=False),
        'fp32 fast': dict(optimize=True, autocast=False),
        f'{low_name} fast': dict(optimize=True, autocast=True, dtype=low),
    }
    if compile:
        p[f'{low_name} fast + compile'] = dict(optimize=True, autocast=True,
                                               dtype=low, compile=True)
    return p


def bench_inference(name, args, device, images, peaks, model=None,
                    batch_sizes=None, runs_batch=None):
    """Latency of ``MODELS[name]`` (or ``model``) on each path and batch
    size; returns a json-able dict."""
    family, _, size = MODELS[name]
    if model is None:
        model = build(name)
    flops = flops_per_image(model, size)
    res = dict(model=name, family=family, input=size, flops=flops,
               params=sum(p.numel() for p in model.parameters()), paths={})
    compile = args.compile and name == 'BlitzNet300 s4'
    for pname, p in paths(device, compile).items():
        m = optimize_for_inference(copy.deepcopy(model),
                                   compile=p.get('compile', False)) \
            if p['optimize'] else model
        m.to(device)
        grad = torch.inference_mode() if p['optimize'] else torch.no_grad()
        amp = torch.autocast(device.type, dtype=p.get('dtype'),
                             enabled=p['autocast'])
        peak = peaks['low' if p['autocast'] else 'fp32']
        res['paths'][pname] = {}
        for bs in batch_sizes or args.batch_sizes:
            inputs, samples = make_batch(m, family, size, images[:bs], device)
            runs = max(2, args.runs if bs == 1 else
                       (runs_batch or args.runs_batch))
            with grad, PeakMemory(device) as mem:
                for _ in range(args.warmup):
                    staged_forward(m, family, inputs, samples, amp)
                laps = [staged_forward(m, family, inputs, samples, amp)
                        for _ in range(runs)]
            total = [sum(lp.values()) / bs for lp in laps]
            q = np.percentile(total, [25, 50, 75])
            entry = dict(
                batch=bs, runs=runs,
                median_s=float(q[1]), p25_s=float(q[0]), p75_s=float(q[2]),
                stages_s={s: statistics.median(lp[s] for lp in laps) / bs
                          for s in STAGES},
                images_per_s=1. / float(q[1]),
                peak_mem_mib=mem.peak, mem_increase_mib=mem.increase,
                gflops_per_s=flops / float(q[1]) / 1e9,
                floor_s=flops / (peak * 1e9))
            entry['vs_floor'] = entry['median_s'] / entry['floor_s']
            res['paths'][pname][str(bs)] = entry
            print(f'  {name:24s} {pname:9s} batch {bs}: '
                  f'{entry["median_s"] * 1e3:7.1f} ms/img '
                  f'({entry["vs_floor"]:.2f}x floor)', flush=True)
        del m
    return res


# ------------------------------------------------------ post-processing
def trained_blitznet(args, device):
    """BlitzNet300 s4 (COCO head) with trained weights: ``--checkpoint`` or
    a short overfit on coco_mini (scores of a random model are uniform and
    would make NMS look either trivial or hopeless)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    from mmengine.runner import load_checkpoint
    model = build(COCO_BLITZNET, num_det_classes=80)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu',
                        logger='silent')
        return model.to(device).eval(), f'checkpoint {args.checkpoint}'
    ds = coco_dataset(300)
    model.to(device).train()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    n = min(len(ds), 8)
    for it in range(args.overfit_iters):
        idx = [(it * 4 + k) % n for k in range(4)]
        model.train_step(pseudo_collate([ds[i] for i in idx]), optim)
    return model.eval(), (f'overfit {args.overfit_iters} iterations on {n} '
                          'coco_mini images')


def coco_dataset(size):
    """coco_mini with boxes and masks, resized to size x size."""
    from mmdet.registry import DATASETS
    cfg = dict(type='BlitzNetCocoDataset', data_root=COCO_MINI,
               ann_file='annotations/instances_train2017.json',
               data_prefix=dict(img='train2017/'),
               pipeline=[dict(type='LoadImageFromFile'),
                         dict(type='LoadBlitzNetAnnotations'),
                         dict(type='Resize', scale=(size, size),
                              keep_ratio=False),
                         dict(type='PackDetInputs')])
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def bench_postproc(args, device, images, model, source):
    head = model.bbox_head
    strategies = {
        'paper (400/class, NMS, 50/class, 200)': head.test_cfg,
        "mmdet default (nms_pre=1000, SSD's test_cfg)": ConfigDict(
            nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45),
            min_bbox_size=0, score_thr=0.02, max_per_img=200),
    }
    inputs, samples = make_batch(model, 'blitznet', 300,
                                 images[:args.postproc_images], device)
    with torch.no_grad():
        t = time.perf_counter()
        model.predict(inputs, samples)
        sync(device)
        e2e = (time.perf_counter() - t) / len(samples)
        cls_scores, bbox_preds = model.bbox_head(model.extract_feat(inputs))
    priors = head.prior_generator.grid_priors(
        [c.shape[-2:] for c in cls_scores], device=device)
    c = head.cls_out_channels
    per_image = []
    for i in range(len(samples)):
        s = torch.cat([x[i].permute(1, 2, 0).reshape(-1, c)
                       for x in cls_scores])
        b = torch.cat([x[i].permute(1, 2, 0).reshape(-1, 4)
                       for x in bbox_preds])
        per_image.append((s, b))
    total = per_image[0][0].shape[0]
    counts = [n for n in (1000, 2000, 5000, 10000, 20000) if n < total]
    counts.append(total)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for n in counts:
        idx = torch.randperm(total, generator=gen)[:n].sort().values.to(
            device)
        pr = torch.cat(priors)[idx]
        row = dict(candidates=n)
        for sname, cfg in strategies.items():
            times, kept = [], []
            for s, b in per_image:
                # one pseudo level of n anchors: (C, 1, n) / (4, 1, n)
                cs = s[idx].t()[:, None].contiguous()
                bp = b[idx].t()[:, None].contiguous()
                args_ = ([cs], [bp], [None], [pr], samples[0].metainfo,
                         cfg, True, True)
                for _ in range(2):
                    head._predict_by_feat_single(*args_)
                for _ in range(args.postproc_runs):
                    sync(device)
                    t = time.perf_counter()
                    out = head._predict_by_feat_single(*args_)
                    sync(device)
                    times.append(time.perf_counter() - t)
                kept.append(len(out))
            row[sname] = dict(median_s=statistics.median(times),
                              detections=statistics.median(kept))
        rows.append(row)
        print(f'  post-processing {n:6d} candidates: ' + ', '.join(
            f'{row[k]["median_s"] * 1e3:.1f} ms' for k in strategies),
            flush=True)
    return dict(score_source=source, end_to_end_s=e2e,
                strategies=list(strategies), rows=rows)


# --------------------------------------------------------------- training
def bench_train(args, device):
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    ds = coco_dataset(300)
    data = pseudo_collate([ds[i] for i in range(args.train_batch)])
    low = default_dtype(device.type)
    out = []
    for name in (COCO_BLITZNET, 'SSD300 (mmdet)'):
        model = build(name, num_det_classes=80)
        model.to(device).train()
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4,
                                             momentum=0.9))
        for prec, enabled in (('fp32', False), (str(low).split('.')[-1],
                                                True)):
            amp = torch.autocast(device.type, dtype=low, enabled=enabled)
            times = []
            for it in range(args.train_warmup + args.train_iters):
                sync(device)
                t = time.perf_counter()
                batch = model.data_preprocessor(data, True)
                with amp:
                    losses = model(**batch, mode='loss')
                loss, _ = model.parse_losses(losses)
                optim.update_params(loss)
                sync(device)
                if it >= args.train_warmup:
                    times.append(time.perf_counter() - t)
            med = statistics.median(times)
            out.append(dict(model=name.replace(' (COCO head)', ''),
                            precision=prec, batch=args.train_batch,
                            iter_s=med,
                            images_per_s=args.train_batch / med))
            print(f'  train {name:24s} {prec}: '
                  f'{args.train_batch / med:.2f} images/s', flush=True)
        del model, optim
    return out


# ----------------------------------------------------------------- report
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
        '(p25-p75 in brackets); memory is the peak resident set (CPU) or '
        'peak allocated memory (CUDA) while the model ran.', '']
    inf = res['inference']
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
                st = ' | '.join(ms(e['stages_s'][s]) for s in STAGES)
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


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out-dir', default=osp.join(_ROOT, 'docs'))
    p.add_argument('--models', nargs='+', default=list(MODELS)[:7],
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
