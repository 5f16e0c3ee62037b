"""Blur-segmentation learning check (docs/blur.md): make a blur set from the
embedded real images, train configs/blur/blitznet300_blur_seg.py from
random initialisation on its training split and score mIoU on the held-out
split (other source images) during training.

    python tools/analysis/blur_check.py [--iters 400] [--eval-interval 100]
        [--per-image 8]

Writes ``docs/blur_check.json`` (losses, evaluations with per-class IoU)
and ``docs/blur_check.md`` (tables).
"""
import argparse
import json
import os
import os.path as osp
import time

from mmengine.config import Config
from mmengine.runner import Runner

from blitznet_mm.analysis.short_run import (SEG_INITS, read_curve,
                                            short_schedule)
from blitznet_mm.datasets.blur_dataset import make_blur_dataset

_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(_ROOT, 'configs', 'blur', 'blitznet300_blur_seg.py')
SAMPLES = osp.join(_ROOT, 'data', 'samples')


def build_cfg(args, data_root: str) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.model.backbone.init_cfg = None  # no ImageNet download here
    cfg.model.seg_head.init_cfg = SEG_INITS['kaiming']  # from scratch
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
        cfg[key].update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.val_evaluator = dict(
        type='BlitzNetSegMetric', iou_metrics=['mIoU'], classwise=True)
    return short_schedule(cfg, args)


def report(run: dict) -> str:
    a = run['args']
    names = [
        k[len('sem_seg/IoU.'):] for k in run['evals'][-1]
        if k.startswith('sem_seg/IoU.')
    ]
    rows = [
        '| iter | train loss_seg | held-out mIoU (%) | aAcc (%) | ' +
        ' | '.join(f'IoU {n}' for n in names) + ' |',
        '|---' * (4 + len(names)) + '|'
    ]
    loss_at = {r['iter']: r['loss_seg'] for r in run['losses']}
    for e in run['evals']:
        rows.append(
            f"| {e['iter']} | {loss_at.get(e['iter'], float('nan')):.3f}"
            f" | {e['sem_seg/mIoU']:.2f} | {e['sem_seg/aAcc']:.2f} | " +
            ' | '.join(f"{e['sem_seg/IoU.' + n]:.2f}" for n in names) + ' |')
    return f"""# Blur-segmentation learning check

`configs/blur/blitznet300_blur_seg.py` (BlitzNet300 s4, segmentation only,
classes background / motion / defocus) from random initialisation, trained
on {run['counts']['train']} blurred samples of {a['train_sources']} real images
and scored on {run['counts']['val']} samples of {a['val_sources']} other real
images (the held-out split of `tools/dataset_converters/make_blur_dataset.py`,
seed {a['seed']}). Adam {a['lr']}, batch {a['batch_size']}, {a['iters']}
iterations, x0.1 at 80%, on this machine's CPU ({os.cpu_count()} cores),
{run['wall_s'] / 60:.1f} min. Written by `tools/analysis/blur_check.py`
({run['finished']}).

    python tools/analysis/blur_check.py --iters {a['iters']} \\
        --eval-interval {a['eval_interval']} --batch-size {a['batch_size']} \\
        --lr {a['lr']} --per-image {a.get('per_image', 2)}

{chr(10).join(rows)}
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=CONFIG)
    p.add_argument(
        '--data-root',
        default=SAMPLES,
        help='COCO-layout source set (train2017/ + annotations)')
    p.add_argument('--iters', type=int, default=400)
    p.add_argument('--eval-interval', type=int, default=100)
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument(
        '--per-image',
        type=int,
        default=8,
        help='blurred samples made from each source image')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default='work_dirs/blur_check')
    p.add_argument(
        '--out',
        default=osp.join(_ROOT, 'docs', 'blur_check'),
        help='writes OUT.json and OUT.md')
    args = p.parse_args()
    data = osp.abspath(osp.join(args.work_dir, 'data')) + '/'
    counts = make_blur_dataset(
        osp.join(args.data_root, 'train2017'),
        data,
        osp.join(args.data_root, 'annotations', 'instances_train2017.json'),
        per_image=args.per_image,
        seed=args.seed)
    with open(osp.join(data, 'samples.json')) as f:
        samples = json.load(f)['samples']
    for split in ('train', 'val'):
        setattr(args, f'{split}_sources',
                len({s['source']
                     for s in samples if s['split'] == split}))
    runner = Runner.from_cfg(build_cfg(args, data))
    start = time.time()
    runner.train()
    losses, evals = read_curve(args.work_dir, eval_key='sem_seg/mIoU')
    run = dict(
        losses=losses,
        evals=evals,
        counts=counts,
        wall_s=time.time() - start,
        args=vars(args),
        finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    with open(args.out + '.json', 'w') as f:
        json.dump(run, f, indent=1)
    with open(args.out + '.md', 'w') as f:
        f.write(report(run))
    print(f'report: {args.out}.md')


if __name__ == '__main__':
    main()
