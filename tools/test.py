"""Evaluate a BlitzNet checkpoint (COCO bbox AP / VOC mAP and mIoU).

    python tools/test.py CONFIG CHECKPOINT [--out results.pkl]
        [--show-dir DIR] [--show] [--tta] [--fast [bf16|fp16|fp32]]
        [--work-dir DIR] [--cfg-options k=v ...]

CHECKPOINT may also be a model exported by tools/deployment/export.py
(.onnx for ONNX Runtime, .xml for OpenVINO): the same data, evaluator and
post-processing then score the exported graph (docs/deployment.md).
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import blitznet_mm  # noqa: F401  (registers modules, safe checkpoint loading)
from blitznet_mm.deployment import backend_model_cfg, is_exported_model
from blitznet_mm.utils import apply_tta


def parse_args():
    parser = argparse.ArgumentParser(description='Test BlitzNet')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file (.pth), or an '
        'exported model (.onnx / .xml)')
    parser.add_argument('--work-dir', help='dir for the evaluation logs')
    parser.add_argument('--out', help='dump raw predictions to a .pkl file')
    parser.add_argument(
        '--show-dir',
        help='write drawn predictions here '
        '(relative to the run\'s timestamp dir)')
    parser.add_argument(
        '--fast',
        choices=['auto', 'bf16', 'fp16', 'fp32'],
        nargs='?',
        const='auto',
        default=None,
        help='fast inference path: BN folded, channels-last, '
        'and autocast to bf16 / fp16, or none with "fp32"; '
        'plain --fast (= auto): bf16, or fp16 on GPUs '
        'without bf16 '
        '(docs/benchmark.md)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time '
        'augmentation: flips x the config\'s '
        'tta_scale_factors (docs/tools.md)')
    parser.add_argument(
        '--show',
        action='store_true',
        help='show the drawn predictions in a window')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='seconds each shown image stays')
    parser.add_argument(
        '--precision',
        choices=['fp32', 'bf16'],
        default='fp32',
        help='run-time precision of an '
        'exported OpenVINO model')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
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
    if is_exported_model(args.checkpoint):
        if args.fast:
            sys.exit('--fast is for PyTorch checkpoints; an exported model '
                     'runs as it was exported (see --precision)')
        cfg.model = backend_model_cfg(
            cfg.model, args.checkpoint, precision=args.precision)
        cfg.load_from = None
    else:
        cfg.load_from = args.checkpoint
    if args.show_dir or args.show:
        vis = cfg.default_hooks.visualization
        vis.update(draw=True)
        if args.show_dir:
            vis.update(test_out_dir=args.show_dir)
        if args.show:
            vis.update(show=True, wait_time=args.wait_time)
    if args.tta:
        if is_exported_model(args.checkpoint):
            sys.exit('--tta is for PyTorch checkpoints')
        apply_tta(cfg)
    if args.fast:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(
                type='FastInferenceHook',
                autocast=args.fast != 'fp32',
                dtype=None if args.fast in ('auto', 'fp32') else args.fast)
        ]
    runner = Runner.from_cfg(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {args.out}')
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    main()
