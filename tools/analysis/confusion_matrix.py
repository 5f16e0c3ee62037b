"""Segmentation confusion matrix of a BlitzNet test run: pixels counted
over the dataset's segmentation label set (ground truth rows, prediction
columns; 255 ignored), from the pickle of ``tools/test.py --out``.

    python tools/analysis/confusion_matrix.py CONFIG results.pkl SAVE_DIR \\
        [--only-present] [--show] [--color-theme plasma] [--cfg-options ...]

Writes ``SAVE_DIR/seg_confusion_matrix.png`` (each row normalised to 100%,
drawn by mmdet's ``plot_confusion_matrix``) and ``seg_confusion_matrix.npy``
(the raw pixel counts, int64, label values as indices).

Detection: mmdet's own tool works unchanged on the same pickle and config
(``mim run mmdet confusion_matrix CONFIG results.pkl SAVE_DIR``,
docs/tools.md). mmseg's does not: it reads ``gt_sem_seg.data`` (mmdet packs
``sem_seg``) and takes the class names without background.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.fileio import load

import blitznet_mm  # noqa: F401  (registers the datasets)
from blitznet_mm.analysis.mmdet_tools import load_mmdet_tool
from blitznet_mm.structures import IGNORE_INDEX, SegLabelSet


def seg_label_names(cfg) -> tuple:
    """Name of each label value of the test set's segmentation set."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg['lazy_init'] = True  # the metainfo only; no annotation loading
    return SegLabelSet.from_metainfo(DATASETS.build(ds_cfg).metainfo).names


def seg_confusion_matrix(results,
                         num_labels: int,
                         ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """(num_labels, num_labels) pixel counts: [ground truth, prediction].

    Raises:
        ValueError: a result has no prediction or ground-truth mask, their
            sizes differ, or a label is outside the set (names the image).
    """
    mat = np.zeros((num_labels, num_labels), dtype=np.int64)
    for r in results:
        name = r.get('img_path', '?')
        if 'pred_sem_seg' not in r or 'gt_sem_seg' not in r:
            raise ValueError(f'{name}: the result has no pred_sem_seg / '
                             'gt_sem_seg (a model without a segmentation '
                             'head, or a set without masks)')
        pred = np.asarray(r['pred_sem_seg']['sem_seg']).reshape(-1)
        gt = np.asarray(r['gt_sem_seg']['sem_seg']).reshape(-1)
        if pred.shape != gt.shape:
            raise ValueError(f'{name}: prediction and ground truth differ '
                             f'in size ({pred.size} vs {gt.size} pixels)')
        keep = gt != ignore_index
        gt, pred = gt[keep].astype(np.int64), pred[keep].astype(np.int64)
        if gt.size and max(gt.max(), pred.max()) >= num_labels:
            raise ValueError(f'{name}: label {max(gt.max(), pred.max())} '
                             f'outside the {num_labels} labels of the set')
        mat += np.bincount(
            gt * num_labels + pred, minlength=num_labels**2).reshape(mat.shape)
    return mat


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='test config file path')
    p.add_argument('prediction_path', help='tools/test.py --out pickle')
    p.add_argument('save_dir', help='where the matrix is written')
    p.add_argument(
        '--only-present',
        action='store_true',
        help='only the labels in the ground truth or the '
        'predictions (81 COCO labels make a huge figure)')
    p.add_argument('--show', action='store_true')
    p.add_argument('--color-theme', default='plasma')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if not osp.isfile(args.prediction_path):
        sys.exit(f'{args.prediction_path}: no such file (write it with '
                 'tools/test.py --out results.pkl)')
    names = seg_label_names(cfg)
    try:
        mat = seg_confusion_matrix(load(args.prediction_path), len(names))
    except ValueError as e:
        sys.exit(f'{args.prediction_path}: {e}')
    os.makedirs(args.save_dir, exist_ok=True)
    np.save(osp.join(args.save_dir, 'seg_confusion_matrix.npy'), mat)
    idx = np.arange(len(names))
    if args.only_present:
        idx = np.flatnonzero(mat.sum(0) + mat.sum(1))
    plot = load_mmdet_tool('confusion_matrix').plot_confusion_matrix
    import matplotlib.pyplot as plt
    plot(
        mat[np.ix_(idx, idx)].astype(float), [names[i] for i in idx],
        save_dir=None,
        show=False,
        color_theme=args.color_theme,
        title='Segmentation confusion matrix (pixels, % of each row)')
    # mmdet sizes the figure 0.5 inch per label: too small for a few labels
    fig, side = plt.gcf(), max(6.0, 0.5 * len(idx))
    fig.set_size_inches(side, side * 0.8)
    fig.tight_layout()
    out = osp.join(args.save_dir, 'seg_confusion_matrix.png')
    plt.savefig(out, format='png')  # mmdet names its file confusion_matrix
    if args.show:
        plt.show()
    print(f'{mat.sum()} pixels over {len(idx)} labels: {out}')


if __name__ == '__main__':
    main()
