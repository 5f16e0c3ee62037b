"""Training input pipeline throughput per data-loader worker (issue 6).

    python tools/analysis/bench/pipeline.py                # 300 and 512
    python tools/analysis/bench/pipeline.py --sizes 300 --repeats 3 \\
        --json /tmp/pipeline.json

The full training pipeline of a config (load image and annotations with the
semantic mask, photometric distortion, zoom-out, crop, flip, resize, box
filter, pack) runs in ONE process on the real images of data/samples, with
OpenCV single-threaded and torch on one thread as in a data-loader worker
(``env_cfg.mp_cfg.opencv_num_threads=0``). Time is the process's CPU time
(user + system, page faults included): it is what a worker with a core of
its own spends, and unlike wall time it does not count the time other jobs
of a shared machine hold the core (wall time is reported beside it). Each
repeat replays the same random draws (numpy seeded), so repeats differ only
by machine noise; the figures are medians over the repeats.

``tools/analysis/benchmark.py`` calls :func:`pipeline_rows`;
:func:`workers_needed` turns a rate into the number of workers that feed a
GPU step rate.
"""
import argparse
import contextlib
import copy
import json
import math
import os.path as osp
import statistics
import time

import numpy as np

from blitznet_mm.testing.builders import COCO_MINI, REPO

# the VOC and COCO configs share one training pipeline (coco.py inherits
# voc0712.py's); the 512 configs only change the Resize scale, which
# ``sizes`` sets
DEFAULT_CONFIGS = ('configs/blitznet300_coco.py', )
LOAD_STAGE = 'data_info'  # the dataset's copy of the annotation record


def workers_needed(images_per_s_per_worker: float,
                   batch_size: int = 32,
                   steps_per_s: float = 10.) -> int:
    """Data-loader workers that keep up with ``steps_per_s`` training steps
    of ``batch_size`` images, each worker delivering
    ``images_per_s_per_worker`` (as measured by :func:`pipeline_rows`).

    Assumes one CPU core per worker: on a machine with fewer cores than the
    answer the rate per worker drops and the GPU waits anyway.
    """
    if images_per_s_per_worker <= 0:
        raise ValueError('the per-worker rate must be positive')
    return math.ceil(batch_size * steps_per_s / images_per_s_per_worker)


@contextlib.contextmanager
def _single_worker_threads():
    # a data-loader worker runs OpenCV single-threaded (mmengine sets
    # cv2.setNumThreads(0) from env_cfg) and one torch thread; the caller's
    # settings come back afterwards (benchmark.py times models after this)
    import cv2
    import torch
    saved = cv2.getNumThreads(), torch.get_num_threads()
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(saved[0])
        torch.set_num_threads(saved[1])


def build_pipeline(config: str, size: int):
    """The dataset of data/samples (COCO layout) and the list of training
    transforms of ``config`` with the Resize scale set to ``size``."""
    from mmdet.registry import DATASETS, TRANSFORMS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import blitznet_mm  # noqa: F401  (registers the transforms)
    register_all_modules()
    cfg = Config.fromfile(
        config if osp.isabs(config) else osp.join(REPO, config))
    steps = []
    for t in copy.deepcopy(cfg.train_pipeline):
        if t['type'] == 'Resize':
            t['scale'] = (size, size)
        steps.append(TRANSFORMS.build(t))
    ds = DATASETS.build(
        dict(
            type='BlitzNetCocoDataset',
            data_root=COCO_MINI,
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            pipeline=[]))
    return ds, steps


def time_pipeline(ds, steps, passes: int = 5, seed: int = 0) -> dict:
    """Run every image of ``ds`` through ``steps`` ``passes`` times.

    Returns:
        dict: ``total_s`` (CPU seconds), ``wall_s``, ``images`` (samples
        delivered: a sample the box
        filter drops is re-drawn by the dataset, so it costs time and
        yields nothing), ``dropped`` and ``stage_s`` (seconds per step,
        ``data_info`` first).
    """
    np.random.seed(seed)
    names = [LOAD_STAGE] + [type(t).__name__ for t in steps]
    stage = [0.] * len(names)
    images = dropped = 0
    clock = time.process_time
    wall = time.perf_counter()
    for _ in range(passes):
        for i in range(len(ds)):
            t0 = clock()
            results = ds.get_data_info(i)
            t1 = clock()
            stage[0] += t1 - t0
            for k, t in enumerate(steps, 1):
                results = t(results)
                t2 = clock()
                stage[k] += t2 - t1
                t1 = t2
                if results is None:
                    break
            if results is None:
                dropped += 1
            else:
                images += 1
    return dict(
        total_s=sum(stage),
        wall_s=time.perf_counter() - wall,
        images=images,
        dropped=dropped,
        stage_s=dict(zip(names, stage)))


def pipeline_rows(configs=DEFAULT_CONFIGS,
                  sizes=(300, 512),
                  passes: int = 5,
                  repeats: int = 5,
                  warmup: int = 1,
                  batch_size: int = 32,
                  steps_per_s: float = 10.,
                  verbose: bool = True) -> list:
    """Images/s per worker of the training pipeline of each config at each
    input size, with the time of each transform.

    Returns:
        list[dict]: per (config, size): ``config``, ``size``,
        ``images_per_s`` (per CPU second, median over ``repeats``),
        ``ms_per_image``, ``wall_images_per_s`` (per wall second),
        ``spread`` (min and max images/s of the repeats), ``stages_ms``
        (median ms per delivered image for each transform), ``dropped``
        (fraction of samples the box filter drops), ``workers`` (for
        ``batch_size`` x ``steps_per_s``), ``batch_size``, ``steps_per_s``.
    """
    rows = []
    for config in configs:
        for size in sizes:
            ds, steps = build_pipeline(config, size)
            with _single_worker_threads():
                runs = [
                    time_pipeline(ds, steps, passes)
                    for _ in range(warmup + repeats)
                ][warmup:]
            rates = [r['images'] / r['total_s'] for r in runs]
            rate = statistics.median(rates)
            wall_rate = statistics.median(r['images'] / r['wall_s']
                                          for r in runs)
            names = list(runs[0]['stage_s'])
            stages = {
                n:
                statistics.median(1e3 * r['stage_s'][n] / r['images']
                                  for r in runs)
                for n in names
            }
            row = dict(
                config=config,
                size=size,
                images_per_s=rate,
                ms_per_image=1e3 / rate,
                wall_images_per_s=wall_rate,
                spread=(min(rates), max(rates)),
                stages_ms=stages,
                dropped=runs[0]['dropped'] /
                (runs[0]['dropped'] + runs[0]['images']),
                workers=workers_needed(rate, batch_size, steps_per_s),
                batch_size=batch_size,
                steps_per_s=steps_per_s)
            rows.append(row)
            if verbose:
                print(format_row(row), flush=True)
    return rows


def format_row(row: dict) -> str:
    stages = ', '.join(f'{k} {v:.2f}' for k, v in row['stages_ms'].items())
    return (f'{osp.basename(row["config"])} @{row["size"]}: '
            f'{row["images_per_s"]:.1f} images/s per worker '
            f'({row["spread"][0]:.1f}-{row["spread"][1]:.1f}; wall '
            f'{row["wall_images_per_s"]:.1f}), '
            f'{row["ms_per_image"]:.2f} ms/image [{stages}]; '
            f'{row["workers"]} workers for {row["batch_size"]} x '
            f'{row["steps_per_s"]:g} steps/s')


def markdown(rows: list) -> str:
    """The rows as a markdown table (ms per delivered image per stage)."""
    names = list(rows[0]['stages_ms'])
    head = (['config', 'size', 'images/s per worker', 'ms/image'] + names +
            ['workers'])
    out = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in rows:
        out.append('| ' + ' | '.join([
            osp.basename(r['config']),
            str(r['size']), f'{r["images_per_s"]:.1f}',
            f'{r["ms_per_image"]:.2f}'
        ] + [f'{r["stages_ms"][n]:.2f}' for n in names] + [
            f'{r["workers"]} (for {r["batch_size"]} x '
            f'{r["steps_per_s"]:g}/s)'
        ]) + ' |')
    return '\n'.join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--configs', nargs='+', default=list(DEFAULT_CONFIGS))
    p.add_argument('--sizes', nargs='+', type=int, default=[300, 512])
    p.add_argument(
        '--passes',
        type=int,
        default=5,
        help='passes over the images per repeat')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--steps-per-s', type=float, default=10.)
    p.add_argument('--json', default=None, help='write the rows here')
    args = p.parse_args(argv)
    rows = pipeline_rows(
        args.configs,
        args.sizes,
        args.passes,
        args.repeats,
        batch_size=args.batch_size,
        steps_per_s=args.steps_per_s)
    print(markdown(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == '__main__':
    main()
