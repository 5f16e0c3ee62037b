"""Best and worst images of a BlitzNet test run, from the pickle of
``tools/test.py --out``: each image scored on its own (detection: COCO-style
mAP over IoU 0.50:0.95, mmdet's ``bbox_map_eval``; segmentation: mIoU over
the labels in its ground truth or prediction), the top-k of each end drawn
(boxes + mask) into SHOW_DIR/{good,bad}/<image>_<score>.jpg, as mmdet's
tools/analysis_tools/analyze_results.py does.

    python tools/analysis/analyze_results.py CONFIG results.pkl SHOW_DIR \\
        [--task det|seg] [--topk 20] [--show-score-thr 0.3]

Also writes SHOW_DIR/per_image.json: every image's score, worst first.

Why not mmdet's tool: it reloads the ground truth through the training
pipeline's loading steps (``get_loading_pipeline``), which drops BlitzNet's
``LoadBlitzNetAnnotations``, so it stops with ``KeyError: 'gt_bboxes'``;
and it ranks detection (or panoptic) only, not the semantic masks.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

import mmcv
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.fileio import load
from mmengine.structures import InstanceData, PixelData

import blitznet_mm  # noqa: F401  (registers the datasets, the visualizer)
from blitznet_mm.analysis.mmdet_tools import load_mmdet_tool
from blitznet_mm.structures import IGNORE_INDEX


def build_dataset(cfg):
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return DATASETS.build(cfg.test_dataloader.dataset)


def _check_order(dataset, results, path: str):
    """The pickle must be of this dataset, image for image."""
    if len(results) != len(dataset):
        raise ValueError(f'{path}: {len(results)} results for the '
                         f'{len(dataset)} images of the test set; was it '
                         'written with this config and --cfg-options?')
    for i, r in enumerate(results):
        want = dataset.get_data_info(i)['img_path']
        if r.get('img_path') and r['img_path'] != want:
            raise ValueError(f'{path}: result {i} is of {r["img_path"]}, '
                             f'the test set\'s image {i} is {want}')


def det_scores(dataset, results) -> list:
    """Per image COCO-style mAP (0-1) of its detections."""
    bbox_map_eval = load_mmdet_tool('analyze_results').bbox_map_eval
    num_classes = len(dataset.metainfo['classes'])
    scores = []
    for i, r in enumerate(results):
        inst = dataset.get_data_info(i)['instances']
        keep = [x for x in inst if not x.get('ignore_flag', 0)]
        ign = [x for x in inst if x.get('ignore_flag', 0)]
        ann = dict(
            bboxes=np.array([x['bbox'] for x in keep],
                            dtype=np.float32).reshape(-1, 4),
            labels=np.array([x['bbox_label'] for x in keep], dtype=np.int64),
            bboxes_ignore=np.array([x['bbox'] for x in ign],
                                   dtype=np.float32).reshape(-1, 4),
            labels_ignore=np.array([x['bbox_label'] for x in ign],
                                   dtype=np.int64))
        p = r['pred_instances']
        boxes, sc, lab = (
            np.asarray(p[k]) for k in ('bboxes', 'scores', 'labels'))
        dets = [
            np.hstack([boxes[lab == c], sc[lab == c, None]])
            for c in range(num_classes)
        ]
        scores.append(float(bbox_map_eval(dets, ann)))
    return scores


def seg_scores(results, ignore_index: int = IGNORE_INDEX) -> list:
    """Per image mIoU (%) over the labels in its ground truth or
    prediction (mmseg's ``IoUMetric.intersect_and_union``).

    Raises:
        ValueError: a result without pred_sem_seg / gt_sem_seg.
    """
    from mmseg.evaluation import IoUMetric
    scores = []
    for r in results:
        if 'pred_sem_seg' not in r or 'gt_sem_seg' not in r:
            raise ValueError(f'{r.get("img_path", "?")}: no pred_sem_seg / '
                             'gt_sem_seg to score; use --task det')
        pred = torch.as_tensor(r['pred_sem_seg']['sem_seg']).squeeze(0)
        gt = torch.as_tensor(r['gt_sem_seg']['sem_seg']).squeeze(0)
        valid = gt[gt != ignore_index]
        n = int(
            max(pred.max().item(),
                valid.max().item() if valid.numel() else 0)) + 1
        inter, union, _, _ = IoUMetric.intersect_and_union(
            pred, gt.to(pred), n, ignore_index)
        present = union > 0
        scores.append(
            float(100 *
                  (inter[present] /
                   union[present]).mean()) if present.any() else float('nan'))
    return scores


def draw(cfg, dataset, results, ranked, out_dir, score_thr) -> list:
    """Draws the predictions of ``ranked`` [(index, score)] into out_dir."""
    from mmdet.registry import VISUALIZERS
    from mmdet.structures import DetDataSample
    vis_cfg = copy.deepcopy(cfg.visualizer)
    vis_cfg.pop('vis_backends', None)  # we write the files ourselves
    vis_cfg['name'] = f'analyze_results_{osp.basename(out_dir)}'
    vis = VISUALIZERS.build(vis_cfg)
    vis.dataset_meta = dataset.metainfo
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for i, score in ranked:
        r = results[i]
        path = dataset.get_data_info(i)['img_path']
        sample = DetDataSample()
        sample.pred_instances = InstanceData(
            **{
                k: torch.as_tensor(r['pred_instances'][k])
                for k in ('bboxes', 'scores', 'labels')
            })
        if 'pred_sem_seg' in r:
            sample.pred_sem_seg = PixelData(
                sem_seg=torch.as_tensor(r['pred_sem_seg']['sem_seg']))
        stem, ext = osp.splitext(osp.basename(path))
        out = osp.join(out_dir, f'{stem}_{round(score, 3)}{ext}')
        vis.add_datasample(
            'image',
            mmcv.imread(path, channel_order='rgb'),
            sample,
            draw_gt=False,
            show=False,
            pred_score_thr=score_thr,
            out_file=out)
        written.append(out)
    return written


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('prediction_path', help='tools/test.py --out pickle')
    p.add_argument('show_dir', help='where good/, bad/ and per_image.json go')
    p.add_argument('--task', choices=['det', 'seg'], default='det')
    p.add_argument('--topk', type=int, default=20)
    p.add_argument('--show-score-thr', type=float, default=0.3)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args()


def main():
    args = parse_args()
    if args.topk < 1:
        sys.exit(f'--topk must be at least 1, got {args.topk}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if not osp.isfile(args.prediction_path):
        sys.exit(f'{args.prediction_path}: no such file (write it with '
                 'tools/test.py --out results.pkl)')
    results = load(args.prediction_path)
    dataset = build_dataset(cfg)
    try:
        _check_order(dataset, results, args.prediction_path)
        scores = det_scores(dataset, results) if args.task == 'det' \
            else seg_scores(results)
    except ValueError as e:
        sys.exit(str(e))
    metric = 'bbox_mAP' if args.task == 'det' else 'mIoU'
    # NaN (nothing to score) sorts first, among the worst
    ranked = sorted(
        enumerate(scores), key=lambda s: -1 if np.isnan(s[1]) else s[1])
    topk = min(args.topk, max(1, len(ranked) // 2))  # as mmdet: k <= n / 2
    os.makedirs(args.show_dir, exist_ok=True)
    table = [
        dict(img_path=dataset.get_data_info(i)['img_path'], **{metric: s})
        for i, s in ranked
    ]
    with open(osp.join(args.show_dir, 'per_image.json'), 'w') as f:
        json.dump(table, f, indent=1)
    for sub, part in (('good', ranked[::-1][:topk]), ('bad', ranked[:topk])):
        draw(cfg, dataset, results, part, osp.join(args.show_dir, sub),
             args.show_score_thr)
        names = [
            osp.basename(dataset.get_data_info(i)['img_path']) for i, _ in part
        ]
        print(f'{sub}: ' + ', '.join(f'{n} {s:.3f}'
                                     for n, (_, s) in zip(names, part)))
    print(f'{metric} per image: {osp.join(args.show_dir, "per_image.json")}')


if __name__ == '__main__':
    main()
