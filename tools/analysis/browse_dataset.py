"""Write training images after the config's pipeline with the ground-truth
boxes and semantic mask drawn on them, to check that augmentation keeps
them aligned.

    python tools/analysis/browse_dataset.py CONFIG --output-dir DIR [--num 20]
"""
import argparse
import os
import os.path as osp

from mmdet.registry import DATASETS, VISUALIZERS
from mmdet.utils import register_all_modules
from mmengine.config import Config, DictAction

import blitznet_mm  # noqa: F401


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--output-dir', required=True)
    p.add_argument('--num', type=int, default=20)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    os.makedirs(args.output_dir, exist_ok=True)
    for i in range(min(args.num, len(dataset))):
        item = dataset[i]
        img = item['inputs'].permute(1, 2, 0).numpy()[..., ::-1]  # BGR->RGB
        ds = item['data_samples']
        ds.gt_instances.bboxes = ds.gt_instances.bboxes.tensor  # for drawing
        name = osp.basename(ds.img_path)
        visualizer.add_datasample(
            name,
            img,
            ds,
            draw_pred=False,
            show=False,
            out_file=osp.join(args.output_dir, name))
    print(f'{min(args.num, len(dataset))} images written to {args.output_dir}')


if __name__ == '__main__':
    main()
