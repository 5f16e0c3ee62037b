"""Train a BlitzNet config with MMEngine's runner (OpenMMLab conventions).

    python tools/train.py configs/blitznet300_voc.py [--work-dir DIR]
        [--resume [CKPT]] [--amp [{fp16,bf16}]] [--cfg-options k=v ...]
    mim train blitznet_mm configs/blitznet300_voc.py
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import blitznet_mm  # noqa: F401  (registers modules, safe checkpoint loading)
from blitznet_mm.engine import configure_amp
from blitznet_mm.utils import setup_cpu_training


def parse_args():
    parser = argparse.ArgumentParser(description='Train BlitzNet')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='dir for logs and checkpoints')
    parser.add_argument(
        '--amp',
        choices=['fp16', 'bf16'],
        nargs='?',
        const='default',
        default=None,
        help='automatic mixed precision: fp16 (loss-scaled, '
        'CUDA) or bf16 (CUDA where supported, and CPU); '
        'plain --amp: bf16 where supported, else fp16')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr with the total batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work '
        'dir when no path is given')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. a.b=1')
    parser.add_argument(
        '--launcher',
        default='none',
        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        precision = args.amp
        if precision == 'default':
            precision = 'fp16' if torch.cuda.is_available() and \
                not torch.cuda.is_bf16_supported() else 'bf16'
        configure_amp(cfg.optim_wrapper, precision)
    if cfg.get('randomness', {}).get('deterministic'):
        # cuBLAS is deterministic only with a fixed workspace; read when
        # its handle is made, i.e. at the first matrix product
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    # no CUDA: SyncBN -> BN, and dist_train.sh runs CPU processes over gloo
    setup_cpu_training(cfg, args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
