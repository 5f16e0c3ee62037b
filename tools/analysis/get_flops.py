"""Parameters and FLOPs of BlitzNet configs at their input size, with
mmengine's analyzer (it counts one multiply-add as one FLOP, the fvcore /
OpenMMLab convention).

    python tools/analysis/get_flops.py configs/blitznet300_voc.py [...]
"""
import argparse

from blitznet_mm.analysis.complexity import complexity


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
