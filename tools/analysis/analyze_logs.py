"""Curves and training time from a BlitzNet run's scalars.json (mmengine's
``<work_dir>/<timestamp>/vis_data/scalars.json``, one JSON dict per line).

    python tools/analysis/analyze_logs.py plot_curve SCALARS.json [...] \\
        --keys loss_cls loss_bbox loss_seg bbox_mAP mIoU --out curves.png
    python tools/analysis/analyze_logs.py cal_train_time SCALARS.json [...]

A key is a scalar's full name (``coco/bbox_mAP``) or its last part
(``bbox_mAP``, ``mIoU``). Training scalars (losses, lr, time) are plotted
against the iteration, validation metrics against the iteration after
which they were measured (that of the training record before them). One
panel per key; one line per log file.

Why not mmdet's tools/analysis_tools/analyze_logs.py: it groups the log by
epoch. BlitzNet trains by iterations (IterBasedTrainLoop), so mmdet's tool
sees one epoch, plots every validation metric at x = 1 and fails
(``x and y must have same first dimension``) as soon as a run validated
twice; it also needs seaborn, which the stack does not install. Its
``cal_train_time`` does work on our logs (docs/tools.md).
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np

DEFAULT_KEYS = ['loss_cls', 'loss_bbox', 'loss_seg', 'bbox_mAP', 'mIoU']


def load_scalars(path: str):
    """Reads a scalars.json into (train records, val records).

    Train records have ``iter``; validation records are the other lines.
    A validation record gets ``iter`` too: the iteration it was measured
    after, i.e. that of the training record before it (mmengine's
    LoggerHook logs validation with ``step`` = the epoch, 0 all along an
    IterBasedTrainLoop, unless ``log_metric_by_epoch=False``; then
    ``step`` is the iteration, the larger of the two).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line is not a JSON object (names file and line), or
            the file has no training record.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such log file')
    train, val = [], []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{n}: not a JSON line ({e}); '
                                 'expected vis_data/scalars.json') from None
            if not isinstance(rec, dict):
                raise ValueError(f'{path}:{n}: not a JSON object')
            if 'iter' in rec:
                train.append(rec)
            else:
                last = train[-1]['iter'] if train else 0
                val.append(dict(rec, iter=max(rec.get('step', 0), last)))
    if not train:
        raise ValueError(f'{path}: no training record (a line with "iter");'
                         ' is it an mmengine scalars.json of a training run?')
    return train, val


def _match(key: str, records) -> str:
    """The full scalar name ``key`` stands for in ``records`` (or None)."""
    names = {k for r in records for k in r}
    if key in names:
        return key
    found = sorted(k for k in names if k.split('/')[-1] == key)
    return found[0] if found else None


def series(path: str, key: str):
    """(x iterations, y values, full name) of one scalar in one log.

    Raises:
        KeyError: the log has no such scalar; lists those it has.
    """
    train, val = load_scalars(path)
    for records in (train, val):
        name = _match(key, records)
        if name:
            pts = [(r['iter'], r[name]) for r in records if name in r]
            return (np.array([p[0] for p in pts]),
                    np.array([p[1] for p in pts], dtype=float), name)
    names = sorted({k for r in train + val for k in r})
    raise KeyError(f'{path} has no scalar {key!r} (it has: '
                   f'{", ".join(names)}); validation metrics appear only '
                   'when the run validated (train_cfg.val_interval)')


def plot_curve(logs,
               keys,
               out=None,
               title=None,
               legend=None,
               backend=None) -> dict:
    """One panel per key, one line per log; saves to ``out`` (or shows).

    Returns:
        dict: ``{(log, key): (x, y, full name)}`` of what was drawn.

    Raises:
        ValueError: ``legend`` does not give one name per log.
    """
    import matplotlib
    if backend or out:
        matplotlib.use(backend or 'Agg')
    import matplotlib.pyplot as plt
    if legend is not None and len(legend) != len(logs):
        raise ValueError(f'--legend gives {len(legend)} names for '
                         f'{len(logs)} logs')
    legend = legend or [
        osp.basename(osp.dirname(osp.dirname(p))) or p for p in logs
    ]
    fig, axes = plt.subplots(
        len(keys), 1, figsize=(7, 2.6 * len(keys)), squeeze=False, sharex=True)
    drawn = {}
    for ax, key in zip(axes[:, 0], keys):
        for log, label in zip(logs, legend):
            x, y, name = series(log, key)
            drawn[(log, key)] = (x, y, name)
            # a metric measured once is a point, not an invisible line
            ax.plot(
                x,
                y,
                label=label,
                marker='o' if len(x) < 20 else None,
                linewidth=1)
            print(f'{log}: {name}: {len(x)} points, iterations '
                  f'{x.min()}-{x.max()}, last {y[-1]:.4f}')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel('iteration')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out:
        fig.savefig(out, dpi=100)
        print(f'save curve to: {out}')
    else:
        plt.show()
    plt.close(fig)
    return drawn


def train_time(path: str, include_outliers: bool = False) -> dict:
    """Seconds per iteration from the ``time`` of the training records.

    mmengine logs ``time`` as the mean over each logging interval; the
    first interval holds the warm-up (data workers, allocator) and is left
    out unless ``include_outliers``.

    Returns:
        dict: ``mean``, ``std``, ``fastest``/``slowest`` (s/iter and the
        iteration logged), ``iters`` (last iteration) and ``total_h``
        (``mean`` x ``iters``, hours).
    """
    train, _ = load_scalars(path)
    recs = [r for r in train if 'time' in r]
    if not recs:
        raise ValueError(f'{path}: no "time" in its training records')
    if not include_outliers and len(recs) > 1:
        recs = recs[1:]
    t = np.array([r['time'] for r in recs], dtype=float)
    last = max(r['iter'] for r in train)
    return dict(
        mean=float(t.mean()),
        std=float(t.std()),
        fastest=(float(t.min()), recs[int(t.argmin())]['iter']),
        slowest=(float(t.max()), recs[int(t.argmax())]['iter']),
        iters=last,
        total_h=float(t.mean()) * last / 3600)


def cal_train_time(logs, include_outliers=False) -> list:
    out = []
    for log in logs:
        r = train_time(log, include_outliers)
        print(f'-----Analyze train time of {log}-----')
        print(f'slowest logged iteration {r["slowest"][1]}: '
              f'{r["slowest"][0]:.4f} s/iter')
        print(f'fastest logged iteration {r["fastest"][1]}: '
              f'{r["fastest"][0]:.4f} s/iter')
        print(f'time std: {r["std"]:.4f} s/iter')
        print(f'average iter time: {r["mean"]:.4f} s/iter')
        print(f'{r["iters"]} iterations: {r["total_h"]:.3f} h of training\n')
        out.append(r)
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='task', required=True)
    plt_p = sub.add_parser('plot_curve', help='plot scalars')
    plt_p.add_argument('json_logs', nargs='+', help='scalars.json files')
    plt_p.add_argument('--keys', nargs='+', default=DEFAULT_KEYS)
    plt_p.add_argument('--title')
    plt_p.add_argument('--legend', nargs='+', help='one name per log')
    plt_p.add_argument('--backend', help='matplotlib backend')
    plt_p.add_argument('--out', help='save the figure here (.png, .pdf)')
    t_p = sub.add_parser('cal_train_time', help='seconds per iteration')
    t_p.add_argument('json_logs', nargs='+', help='scalars.json files')
    t_p.add_argument(
        '--include-outliers',
        action='store_true',
        help='count the first logged interval (warm-up)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.task == 'plot_curve':
            plot_curve(args.json_logs, args.keys, args.out, args.title,
                       args.legend, args.backend)
        else:
            cal_train_time(args.json_logs, args.include_outliers)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(
            f'analyze_logs: {e.args[0] if isinstance(e, KeyError) else e}')


if __name__ == '__main__':
    main()
