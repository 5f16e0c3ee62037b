"""Learning evidence on real images: overfit BlitzNet300 (random init) on N
images of a COCO-layout set and record loss / COCO bbox AP / mIoU over
iterations, one named run at a time.

    python tools/analysis/learning_check.py --name recipe [--num-images 16]
        [--iters 150] [--eval-interval 30] [--seg-init kaiming|xavier]
        [--augment] [--config configs/blitznet300_gn_coco_mini.py]
    python tools/analysis/learning_check.py --report-only

Each run writes ``docs/learning_check/<name>.json``; every call rebuilds
``docs/learning_check.md`` (tables of all runs) and
``docs/learning_check.png`` (their curves) from the JSON files there.
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
from blitznet_mm.datasets import coco_subset

_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(_ROOT, 'configs', 'blitznet300_coco_mini.py')


def build_cfg(args, ann: str) -> Config:
    cfg = Config.fromfile(args.config)
    root = osp.abspath(args.data_root) + '/'
    size = args.input_size or cfg.get('input_size')
    if size is None:
        raise SystemExit(f'{args.config}: the config states no input_size '
                         '(an mmdet recipe, configs/joint/): pass '
                         '--input-size')
    # an mmdet recipe takes the baseline's test pipeline, so every model is
    # scored on the same resized images and masks; a BlitzNet config keeps
    # its own; both are scored at the size they are trained at
    recipe = not cfg.get('input_size')
    test = Config.fromfile(CONFIG if recipe else args.config) \
        .test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset.pipeline = [
        dict(t, scale=(size, ) * 2) if t['type'] == 'Resize' else t
        for t in test
    ]
    if recipe:
        cfg.model.backbone.init_cfg = None  # from scratch, as the baseline
    if not args.augment:  # overfitting: nothing beyond the fixed resize
        cfg.train_dataloader.dataset.pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadBlitzNetAnnotations'),
            dict(type='Resize', scale=(size, ) * 2, keep_ratio=False),
            dict(type='PackDetInputs')
        ]
    if args.optim_from:  # one optimizer for all compared models
        cfg.optim_wrapper = Config.fromfile(args.optim_from).optim_wrapper
        # heads that share convolutions over levels (RTMDet's) list a
        # parameter once per level
        cfg.optim_wrapper.setdefault('paramwise_cfg',
                                     {})['bypass_duplicate'] = True
    # the weights trained are the weights scored: an EMA copy (RTMDet's
    # recipe) would lag far behind in so short a schedule, and the
    # recipe's stage-2 pipeline switch is past its end
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', [])
        if h['type'] not in ('EMAHook', 'PipelineSwitchHook')
    ]
    if args.seg_init:
        cfg.model.seg_head.init_cfg = SEG_INITS[args.seg_init]
    cfg.val_dataloader = cfg.test_dataloader
    cfg.val_cfg = dict(type='ValLoop')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg[key]
        dl.dataset.update(
            data_root=root, ann_file=ann, data_prefix=dict(img='train2017/'))
        dl.update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.val_evaluator = [
        dict(type='CocoMetric', ann_file=ann, metric='bbox'),
        dict(type='BlitzNetSegMetric')
    ]
    cfg.test_evaluator = cfg.val_evaluator
    return short_schedule(cfg, args)


def load_runs(run_dir: str) -> list:
    runs = []
    for name in sorted(os.listdir(run_dir)):
        if name.endswith('.json'):
            with open(osp.join(run_dir, name)) as f:
                runs.append(dict(json.load(f), name=name[:-5]))
    return sorted(runs, key=lambda r: r.get('finished', ''))


def _eval_table(run) -> str:
    rows = [
        '| iter | bbox AP@0.5 | bbox AP | mIoU (%) | aAcc (%) |',
        '|---|---|---|---|---|'
    ]
    for r in run['evals']:
        rows.append(f"| {r['iter']} | {r['coco/bbox_mAP_50']:.3f} | "
                    f"{r['coco/bbox_mAP']:.3f} | {r['sem_seg/mIoU']:.2f} | "
                    f"{r['sem_seg/aAcc']:.2f} |")
    return '\n'.join(rows)


def _loss_table(run) -> str:
    rows = [
        '| iter | loss | loss_cls | loss_bbox | loss_seg |',
        '|---|---|---|---|---|'
    ]
    for r in run['losses']:
        if r['iter'] in (1, 4) or r['iter'] % 30 == 0:
            rows.append(f"| {r['iter']} | {r['loss']:.3f} | "
                        f"{r['loss_cls']:.3f} | {r['loss_bbox']:.3f} | "
                        f"{r['loss_seg']:.3f} |")
    return '\n'.join(rows)


def plot(runs: list, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for run in runs:
        it = [r['iter'] for r in run['evals']]
        axes[0].plot(
            it, [r['coco/bbox_mAP_50'] for r in run['evals']],
            'o-',
            label=run['name'])
        axes[1].plot(
            it, [r['sem_seg/mIoU'] for r in run['evals']],
            'o-',
            label=run['name'])
        axes[2].semilogy([r['iter'] for r in run['losses']],
                         [r['loss'] for r in run['losses']],
                         label=run['name'])
    for ax, title in zip(axes, ('train-set bbox AP@0.5', 'train-set mIoU (%)',
                                'total training loss')):
        ax.set_title(title)
        ax.set_xlabel('iteration')
        ax.grid(alpha=.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(run_dir: str, out: str) -> None:
    runs = load_runs(run_dir)
    if not runs:
        raise FileNotFoundError(f'{run_dir}: no learning-check runs')
    png = osp.splitext(out)[0] + '.png'
    plot(runs, png)
    summary = [
        '| run | what | initial loss_cls / loss_seg | final AP@0.5 | '
        'final AP | final mIoU (%) | wall (min) |',
        '|---|---|---|---|---|---|---|'
    ]
    parts = []
    for run in runs:
        first, last = run['losses'][0], run['evals'][-1]
        summary.append(
            f"| {run['name']} | {run.get('what', '')} | "
            f"{first['loss_cls']:.1f} / {first['loss_seg']:.1f} (iter "
            f"{first['iter']}) | {last['coco/bbox_mAP_50']:.3f} | "
            f"{last['coco/bbox_mAP']:.3f} | {last['sem_seg/mIoU']:.1f} | "
            f"{run['wall_s'] / 60:.1f} |")
        a = run['args']
        parts.append(f"""## {run['name']}

{run.get('what', '')}

    python tools/analysis/learning_check.py --name {run['name']} \\
        --num-images {a['num_images']} --iters {a['iters']} \\
        --eval-interval {a['eval_interval']} --batch-size {a['batch_size']} \\
        --lr {a['lr']}{' --seg-init ' + a['seg_init'] if a.get('seg_init')
                       else ''}{' --augment' if a.get('augment') else ''}{
            ' --config ' + osp.relpath(a['config'], _ROOT)
            if a.get('config', CONFIG) != CONFIG else ''}{
            ' --input-size ' + str(a['input_size'])
            if a.get('input_size') else ''}{
            ' --optim-from ' + osp.relpath(a['optim_from'], _ROOT)
            if a.get('optim_from') else ''}

{_eval_table(run)}

{_loss_table(run)}
""")
    a = runs[-1]['args']
    text = f"""# Learning check: overfitting {a['num_images']} real COCO images

BlitzNet300 s4 (COCO head, 80 classes) from random initialisation (ImageNet
weights cannot be downloaded on these machines), trained and evaluated on the
same {a['num_images']} images (`data/samples`, the first by image id),
Adam, batch {a['batch_size']}, {a['iters']} iterations, x0.1 at 80%, on
this machine's CPU ({os.cpu_count()} cores). Without `--augment` the only
transform is the fixed square resize (300x300, or the run's `--input-size`,
for training and scoring); with it, the authors' training
augmentation (docs/training_recipe.md). Written by
`tools/analysis/learning_check.py` from the JSON files in
`docs/learning_check/`.

![curves](learning_check.png)

{chr(10).join(summary)}

{chr(10).join(parts)}"""
    with open(out, 'w') as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--name', default='run', help='run name (JSON file name)')
    p.add_argument(
        '--config',
        default=CONFIG,
        help='a from-scratch COCO-layout config (default: '
        'configs/blitznet300_coco_mini.py)')
    p.add_argument(
        '--input-size',
        type=int,
        help="square input side in pixels (default: the config's "
        'input_size; needed for the mmdet recipes of configs/joint/)')
    p.add_argument(
        '--optim-from',
        help='a config whose optim_wrapper replaces this one\'s (the '
        'joint models are compared under the baseline\'s Adam)')
    p.add_argument('--what', default='', help='one line for the report')
    p.add_argument('--data-root', default=osp.join(_ROOT, 'data', 'samples'))
    p.add_argument('--num-images', type=int, default=16)
    p.add_argument('--iters', type=int, default=150)
    p.add_argument('--eval-interval', type=int, default=30)
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument(
        '--seg-init',
        choices=sorted(SEG_INITS),
        help="segmentation-head init (default: the config's)")
    p.add_argument(
        '--augment',
        action='store_true',
        help="use the config's training augmentation")
    p.add_argument('--work-dir', default='work_dirs/learning_check')
    p.add_argument(
        '--run-dir', default=osp.join(_ROOT, 'docs', 'learning_check'))
    p.add_argument(
        '--out', default=osp.join(_ROOT, 'docs', 'learning_check.md'))
    p.add_argument('--report-only', action='store_true')
    args = p.parse_args()
    if not args.report_only:
        os.makedirs(args.work_dir, exist_ok=True)
        ann = osp.abspath(osp.join(args.work_dir, 'instances_subset.json'))
        coco_subset(
            osp.join(args.data_root, 'annotations',
                     'instances_train2017.json'), ann, args.num_images)
        runner = Runner.from_cfg(build_cfg(args, ann))
        start = time.time()
        runner.train()
        wall = time.time() - start
        # every evaluation has mIoU; mmdet's CocoMetric logs nothing when
        # no box passed the score threshold (a from-scratch RetinaNet's
        # first evaluations): bbox AP 0 there
        losses, evals = read_curve(args.work_dir, 'sem_seg/mIoU')
        for rec in evals:
            for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50'):
                rec.setdefault(key, 0.0)
        os.makedirs(args.run_dir, exist_ok=True)
        with open(osp.join(args.run_dir, args.name + '.json'), 'w') as f:
            json.dump(
                dict(
                    losses=losses,
                    evals=evals,
                    wall_s=wall,
                    what=args.what,
                    finished=time.strftime('%Y-%m-%d %H:%M:%S'),
                    args=vars(args)),
                f,
                indent=1)
    write_report(args.run_dir, args.out)
    print(f'report: {args.out}')


if __name__ == '__main__':
    main()
