"""The learning checks' short training runs (``tools/analysis/
learning_check.py``, ``tools/analysis/blur_check.py``): the schedule, the
segmentation head's initialisations compared, and the curve read back from
the run's logs."""
import json
import os
import os.path as osp

# the segmentation head's initialisations the checks compare (mmengine
# init_cfg)
SEG_INITS = dict(
    xavier=dict(type='Xavier', layer='Conv2d', distribution='uniform', bias=0),
    kaiming=dict(type='Kaiming', layer='Conv2d', distribution='uniform'))


def short_schedule(cfg, args):
    """The check's schedule: ``args.iters`` iterations at ``args.lr``,
    x0.1 at 80%, evaluation every ``args.eval_interval``, one checkpoint
    at the end, seed 0, in ``args.work_dir``.

    Args:
        cfg (mmengine.Config): changed in place and returned.
        args: has ``iters``, ``lr``, ``eval_interval`` and ``work_dir``.
    """
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop',
        max_iters=args.iters,
        val_interval=args.eval_interval)
    cfg.optim_wrapper.optimizer.lr = args.lr
    cfg.param_scheduler = [
        dict(
            type='MultiStepLR',
            by_epoch=False,
            begin=0,
            end=args.iters,
            milestones=[int(args.iters * 0.8)],
            gamma=0.1)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        interval=args.iters,
        by_epoch=False,
        save_optimizer=False)
    # a loss record at every evaluation's iteration
    cfg.default_hooks.logger.interval = max(1, min(10, args.eval_interval))
    cfg.randomness = dict(seed=0)
    cfg.work_dir = args.work_dir
    return cfg


def read_curve(work_dir: str, eval_key: str = 'coco/bbox_mAP_50'):
    """(losses, evals) from the newest run's ``scalars.json``; an
    evaluation record is one holding ``eval_key``."""
    runs = sorted(d for d in os.listdir(work_dir) if d[:2] == '20')
    path = osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')
    losses, evals = [], []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if 'loss' in rec:
                losses.append(rec)
            elif eval_key in rec:
                # evaluation runs after the iteration logged last
                rec['iter'] = losses[-1]['iter'] if losses else 0
                evals.append(rec)
    return losses, evals
