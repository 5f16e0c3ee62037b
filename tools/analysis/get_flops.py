"""Parameters and FLOPs of BlitzNet configs at their input size, with
mmengine's analyzer (it counts one multiply-add as one FLOP, the fvcore /
OpenMMLab convention).

    python tools/analysis/get_flops.py configs/blitznet300_voc.py [...]
"""
import os.path as osp
import sys

# from a checkout, use its blitznet_mm rather than an installed copy
_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if osp.isdir(osp.join(_ROOT, 'blitznet_mm')):
    sys.path.insert(0, _ROOT)

import argparse

import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config

import blitznet_mm  # noqa: F401


def complexity(config: str):
    """Returns (params, flops, input_size) of a config's model."""
    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    size = cfg.input_size  # the one place a config states S
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        info = get_model_complexity_info(
            model,
            input_shape=(3, size, size),
            show_table=False,
            show_arch=False)
    return info['params'], info['flops'], size


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('configs', nargs='+')
    args = p.parse_args()
    print('| config | input | params (M) | GFLOPs (multiply-adds) |')
    print('|---|---|---|---|')
    for c in args.configs:
        params, flops, size = complexity(c)
        print(f'| {c} | {size} | {params / 1e6:.1f} | {flops / 1e9:.1f} |')


if __name__ == '__main__':
    main()
