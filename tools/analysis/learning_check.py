"""Learning evidence on real images: overfit BlitzNet300 (random init) on N
coco_mini images and record loss / COCO bbox AP@0.5 / mIoU over iterations.

    python tools/analysis/learning_check.py [--num-images 16] [--iters 600]
        [--eval-interval 100] [--out docs/learning_check.md]

Writes the markdown report (config, curve, wall time) and a json beside it.
"""
import os.path as osp
import sys

_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if osp.isdir(osp.join(_ROOT, 'blitznet_mm')):
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from blitznet_mm.datasets import coco_subset  # noqa: E402

CONFIG = osp.join(_ROOT, 'configs', 'blitznet300_coco_mini.py')


def build_cfg(args, ann: str) -> Config:
    cfg = Config.fromfile(CONFIG)
    root = osp.abspath(args.data_root) + '/'
    # overfitting: no augmentation beyond the fixed resize
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadBlitzNetAnnotations'),
        dict(type='Resize', scale=(300, 300), keep_ratio=False),
        dict(type='PackDetInputs')
    ]
    cfg.val_dataloader = cfg.test_dataloader
    cfg.val_cfg = dict(type='ValLoop')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg[key]
        dl.dataset.update(data_root=root, ann_file=ann,
                          data_prefix=dict(img='train2017/'))
        dl.update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.pipeline = train_pipeline
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.val_evaluator = [dict(type='CocoMetric', ann_file=ann, metric='bbox'),
                         dict(type='BlitzNetSegMetric')]
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters,
                         val_interval=args.eval_interval)
    cfg.optim_wrapper.optimizer.lr = args.lr
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=False, begin=0,
                                end=args.iters,
                                milestones=[int(args.iters * 0.8)],
                                gamma=0.1)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=args.iters, by_epoch=False)
    cfg.default_hooks.logger.interval = max(1, min(10, args.iters))
    cfg.randomness = dict(seed=0)
    cfg.work_dir = args.work_dir
    return cfg


def read_curve(work_dir: str):
    runs = sorted(d for d in os.listdir(work_dir) if d[:2] == '20')
    path = osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')
    losses, evals = [], []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if 'loss' in rec:
                losses.append(rec)
            elif 'coco/bbox_mAP_50' in rec:
                # evaluation runs after the iteration logged last
                rec['iter'] = losses[-1]['iter'] if losses else 0
                evals.append(rec)
    return losses, evals


def write_report(args, losses, evals, wall):
    rows = ['| iter | loss | loss_cls | loss_bbox | loss_seg |',
            '|---|---|---|---|---|']
    for r in losses:
        rows.append(f"| {r['iter']} | {r['loss']:.3f} | {r['loss_cls']:.3f} "
                    f"| {r['loss_bbox']:.3f} | {r['loss_seg']:.3f} |")
    ev = ['| iter | bbox AP@0.5 | bbox AP | mIoU (%) | aAcc (%) |',
          '|---|---|---|---|---|']
    for r in evals:
        ev.append(f"| {r['iter']} | {r['coco/bbox_mAP_50']:.3f} | "
                  f"{r['coco/bbox_mAP']:.3f} | {r['sem_seg/mIoU']:.2f} | "
                  f"{r['sem_seg/aAcc']:.2f} |")
    last = evals[-1] if evals else {}
    text = f"""# Learning check: overfitting {args.num_images} real coco_mini images

BlitzNet300 s4 (COCO head, 80 classes), random initialisation (ImageNet weights
cannot be downloaded on these machines), trained and evaluated on the same
{args.num_images} images of `{osp.relpath(args.data_root, _ROOT)}` (no augmentation beyond the
300x300 resize), Adam lr {args.lr}, batch {args.batch_size}, {args.iters}
iterations, x0.1 at 80%. Command:

    python tools/analysis/learning_check.py --num-images {args.num_images} \\
        --iters {args.iters} --eval-interval {args.eval_interval} \\
        --batch-size {args.batch_size} --lr {args.lr}

Wall time: {wall / 60:.1f} min on this machine ({os.cpu_count()} cores, CPU).
Target: train-set bbox AP@0.5 >= 0.5 and mIoU >= 50%.
Final: AP@0.5 = {last.get('coco/bbox_mAP_50', float('nan')):.3f}, mIoU =
{last.get('sem_seg/mIoU', float('nan')):.2f}%.

## Evaluation on the training images

{chr(10).join(ev)}

## Training loss

{chr(10).join(rows)}
"""
    with open(args.out, 'w') as f:
        f.write(text)
    with open(osp.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump(dict(losses=losses, evals=evals, wall_s=wall,
                       args=vars(args)), f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default=osp.join(_ROOT, 'data', 'samples'))
    p.add_argument('--num-images', type=int, default=16)
    p.add_argument('--iters', type=int, default=600)
    p.add_argument('--eval-interval', type=int, default=100)
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--work-dir', default='work_dirs/learning_check')
    p.add_argument('--out', default=osp.join(_ROOT, 'docs',
                                             'learning_check.md'))
    args = p.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    ann = osp.abspath(osp.join(args.work_dir, 'instances_subset.json'))
    coco_subset(osp.join(args.data_root, 'annotations',
                         'instances_train2017.json'), ann, args.num_images)
    runner = Runner.from_cfg(build_cfg(args, ann))
    start = time.time()
    runner.train()
    wall = time.time() - start
    losses, evals = read_curve(args.work_dir)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    write_report(args, losses, evals, wall)
    print(f'report: {args.out}')


if __name__ == '__main__':
    main()
