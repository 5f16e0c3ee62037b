"""Decode + NMS time versus the number of candidates, with trained scores."""
import statistics
import time

import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from blitznet_mm.models.detectors.dense_head_adapter import head_outputs
from .machine import sync
from .models import COCO_BLITZNET, COCO_MINI, build, make_batch


def trained_blitznet(args, device):
    """BlitzNet300 s4 (COCO head) with trained weights: ``--checkpoint`` or
    a short overfit on coco_mini (scores of a random model are uniform and
    would make NMS look either trivial or hopeless)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    from mmengine.runner import load_checkpoint
    model = build(COCO_BLITZNET, num_det_classes=80)
    if args.checkpoint:
        load_checkpoint(
            model, args.checkpoint, map_location='cpu', logger='silent')
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
    cfg = dict(
        type='BlitzNetCocoDataset',
        data_root=COCO_MINI,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadBlitzNetAnnotations'),
            dict(type='Resize', scale=(size, size), keep_ratio=False),
            dict(type='PackDetInputs')
        ])
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def bench_postproc(args, device, images, model, source):
    head = model.bbox_head
    strategies = {
        'paper (400/class, NMS, 50/class, 200)':
        head.test_cfg,
        "mmdet default (nms_pre=1000, SSD's test_cfg)":
        ConfigDict(
            nms_pre=1000,
            nms=dict(type='nms', iou_threshold=0.45),
            min_bbox_size=0,
            score_thr=0.02,
            max_per_img=200),
    }
    inputs, samples = make_batch(model, 'blitznet', 300,
                                 images[:args.postproc_images], device)
    with torch.no_grad():
        t = time.perf_counter()
        model.predict(inputs, samples)
        sync(device)
        e2e = (time.perf_counter() - t) / len(samples)
        cls_scores, bbox_preds = head_outputs(
            model, model.extract_feat(inputs))['det']
    priors = head.prior_generator.grid_priors(
        [c.shape[-2:] for c in cls_scores], device=device)
    c = head.cls_out_channels
    per_image = []
    for i in range(len(samples)):
        s = torch.cat(
            [x[i].permute(1, 2, 0).reshape(-1, c) for x in cls_scores])
        b = torch.cat(
            [x[i].permute(1, 2, 0).reshape(-1, 4) for x in bbox_preds])
        per_image.append((s, b))
    total = per_image[0][0].shape[0]
    counts = [n for n in (1000, 2000, 5000, 10000, 20000) if n < total]
    counts.append(total)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for n in counts:
        idx = torch.randperm(total, generator=gen)[:n].sort().values.to(device)
        pr = torch.cat(priors)[idx]
        row = dict(candidates=n)
        for sname, cfg in strategies.items():
            times, kept = [], []
            for s, b in per_image:
                # one pseudo level of n anchors: (C, 1, n) / (4, 1, n)
                cs = s[idx].t()[:, None].contiguous()
                bp = b[idx].t()[:, None].contiguous()
                args_ = ([cs], [bp], [None], [pr], samples[0].metainfo, cfg,
                         True, True)
                for _ in range(2):
                    head._predict_by_feat_single(*args_)
                for _ in range(args.postproc_runs):
                    sync(device)
                    t = time.perf_counter()
                    out = head._predict_by_feat_single(*args_)
                    sync(device)
                    times.append(time.perf_counter() - t)
                kept.append(len(out))
            row[sname] = dict(
                median_s=statistics.median(times),
                detections=statistics.median(kept))
        rows.append(row)
        print(
            f'  post-processing {n:6d} candidates: ' +
            ', '.join(f'{row[k]["median_s"] * 1e3:.1f} ms'
                      for k in strategies),
            flush=True)
    return dict(
        score_source=source,
        end_to_end_s=e2e,
        strategies=list(strategies),
        rows=rows)
