"""The analysis tools on one real BlitzNet run: 2 iterations of
configs/blitznet300_coco_mini.py (with the small network of
``blitznet_mm.testing.runs.SMALL``) on data/samples, validated after each,
then tools/test.py --out with format_only (COCO json + label PNGs). The
expected values are recomputed here from the run's own files."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import mmcv
import numpy as np
import pytest

from blitznet_mm.testing.builders import REPO
from blitznet_mm.testing.runs import data_options as _data_options
from blitznet_mm.testing.runs import iters as _iters
from blitznet_mm.testing.runs import with_small_network
from blitznet_mm.testing.tool_runs import run_script

CFG = osp.join(REPO, 'configs', 'blitznet300_coco_mini.py')
TOOLS = osp.join(REPO, 'tools', 'analysis')
pytestmark = pytest.mark.slow


def _run(args, cwd, env=None):
    res = run_script(args[1:], cwd=cwd, env=env, timeout=900) \
        if args[0] == sys.executable else subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=900,
            env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


def _mim(args, cwd):
    """`mim run mmdet ...`: mmdet's installed tool; the config's
    custom_imports load the checkout's blitznet_mm (PYTHONPATH)."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    return _run(
        [osp.join(osp.dirname(sys.executable), 'mim')] + args, cwd, env=env)


@pytest.fixture(scope='module')
def run(tmp_path_factory, coco_mini):
    """Returns dict(cfg, opts, work, scalars, pkl, json, png_dir, ann)."""
    tmp = tmp_path_factory.mktemp('run')
    root = osp.abspath(coco_mini) + '/'
    ann = root + 'annotations/instances_train2017.json'
    # the mini config with its test set as validation set, as one file
    from mmengine.config import Config
    base = with_small_network(Config.fromfile(CFG))  # the tools' subject
    base.val_cfg = dict(type='ValLoop')
    base.val_dataloader = base.test_dataloader
    base.val_evaluator = base.test_evaluator
    cfg = tmp / 'blitznet300_coco_mini_val.py'
    base.dump(str(cfg))
    opts = _data_options(coco_mini) + [
        f'val_dataloader.dataset.data_root={root}',
        f'val_evaluator.0.ann_file={ann}', 'val_dataloader.dataset.indices=2',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False'
    ]
    work = tmp / 'work'
    _run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'),
            str(cfg), '--work-dir',
            str(work), '--cfg-options'
        ] + opts + _iters(2) + ['train_cfg.val_interval=1'],
        cwd=tmp)
    scalars = [
        osp.join(work, d, 'vis_data', 'scalars.json')
        for d in sorted(os.listdir(work))
        if osp.isfile(osp.join(work, d, 'vis_data', 'scalars.json'))
    ]
    pkl, png_dir = tmp / 'results.pkl', tmp / 'label_maps'
    _run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'test.py'),
            str(cfg),
            str(work / 'iter_2.pth'), '--work-dir',
            str(tmp / 'test'), '--out',
            str(pkl), '--cfg-options'
        ] + opts + [
            'test_evaluator.0.format_only=True',
            f'test_evaluator.0.outfile_prefix={tmp}/test-dev',
            'test_evaluator.1.format_only=True',
            f'test_evaluator.1.output_dir={png_dir}'
        ],
        cwd=tmp)
    return dict(
        cfg=str(cfg),
        opts=opts,
        tmp=tmp,
        scalars=scalars[-1],
        pkl=str(pkl),
        json=f'{tmp}/test-dev.bbox.json',
        png_dir=png_dir,
        ann=ann)


def _records(path):
    with open(path) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return ([r for r in recs
             if 'iter' in r], [r for r in recs if 'iter' not in r])


def _results(run):
    with open(run['pkl'], 'rb') as f:
        return pickle.load(f)


def test_analyze_logs_plots_losses_and_both_metrics(run):
    out = run['tmp'] / 'curves.png'
    log = _run([
        sys.executable,
        osp.join(TOOLS,
                 'analyze_logs.py'), 'plot_curve', run['scalars'], '--keys',
        'loss_cls', 'loss_bbox', 'loss_seg', 'bbox_mAP', 'mIoU', '--out',
        str(out)
    ],
               cwd=run['tmp'])
    assert out.is_file() and mmcv.imread(str(out)).shape[0] > 500
    train, val = _records(run['scalars'])
    # logged every iteration, validated after iterations 1 and 2: each
    # validation line follows its iteration's line (its "step" is the
    # epoch, 0, in an iteration-based run)
    assert [r['iter'] for r in train] == [1, 2]
    assert [r['step'] for r in val] == [0, 0]
    for key, recs, full in (('loss_seg', train, 'loss_seg'),
                            ('mIoU', val, 'sem_seg/mIoU'), ('bbox_mAP', val,
                                                            'coco/bbox_mAP')):
        assert (f'{full}: 2 points, iterations 1-2, last '
                f'{recs[-1][full]:.4f}') in log


def test_analyze_logs_train_time(run):
    log = _run([
        sys.executable,
        osp.join(TOOLS, 'analyze_logs.py'), 'cal_train_time', run['scalars'],
        '--include-outliers'
    ],
               cwd=run['tmp'])
    train, _ = _records(run['scalars'])
    mean = np.mean([r['time'] for r in train])
    assert f'average iter time: {mean:.4f} s/iter' in log
    assert f'2 iterations: {mean * 2 / 3600:.3f} h' in log


def test_mmdet_analyze_logs_cal_train_time_runs_unchanged(run):
    """mmdet's tool imports seaborn, which the stack does not install."""
    try:
        import seaborn  # noqa: F401
    except ImportError:
        pytest.skip('seaborn not installed (mmdet analyze_logs imports it)')
    log = _mim(
        ['run', 'mmdet', 'analyze_logs', 'cal_train_time', run['scalars']],
        cwd=run['tmp'])
    train, _ = _records(run['scalars'])
    # mmdet leaves out the first logged time of each "epoch" (one here)
    want = np.mean([r['time'] for r in train][1:])
    assert f'average iter time: {want:.4f} s/iter' in log


def test_a_missing_metric_names_the_log_and_what_it_has(run):
    res = run_script([
        osp.join(TOOLS, 'analyze_logs.py'), 'plot_curve', run['scalars'],
        '--keys', 'PQ', '--out',
        str(run['tmp'] / 'x.png')
    ],
                     timeout=300)
    assert res.returncode != 0
    assert run['scalars'] in res.stderr and "'PQ'" in res.stderr
    assert 'loss_seg' in res.stderr


def test_format_only_json_matches_the_predictions(run):
    from pycocotools.coco import COCO
    results = _results(run)
    gt = COCO(run['ann'])
    dt = gt.loadRes(run['json'])
    cat_ids = sorted(gt.getCatIds())  # mmdet label i = i-th category id
    for r in results:
        p = r['pred_instances']
        anns = sorted(
            dt.loadAnns(dt.getAnnIds(imgIds=[r['img_id']])),
            key=lambda a: -a['score'])
        assert len(anns) == len(p['scores']) > 0
        order = np.argsort(-np.asarray(p['scores']), kind='stable')
        boxes = np.asarray(p['bboxes'])[order]
        xywh = np.c_[boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]
        np.testing.assert_allclose([a['bbox'] for a in anns], xywh, atol=1e-3)
        assert [a['category_id'] for a in anns
                ] == [cat_ids[int(c)] for c in np.asarray(p['labels'])[order]]


def test_format_only_pngs_are_the_label_maps(run):
    for r in _results(run):
        stem = osp.splitext(osp.basename(r['img_path']))[0]
        png = mmcv.imread(
            str(run['png_dir'] / f'{stem}.png'), flag='unchanged')
        np.testing.assert_array_equal(
            png,
            np.asarray(r['pred_sem_seg']['sem_seg'])[0])


def test_seg_confusion_matrix_counts_the_pixels(run):
    out = run['tmp'] / 'cm'
    _run(
        [
            sys.executable,
            osp.join(TOOLS, 'confusion_matrix.py'), run['cfg'], run['pkl'],
            str(out), '--only-present', '--cfg-options'
        ] + run['opts'],
        cwd=run['tmp'])
    mat = np.load(out / 'seg_confusion_matrix.npy')
    assert mat.shape == (81,
                         81) and (out / 'seg_confusion_matrix.png').is_file()
    results = _results(run)
    gts = [np.asarray(r['gt_sem_seg']['sem_seg'])[0] for r in results]
    preds = [np.asarray(r['pred_sem_seg']['sem_seg'])[0] for r in results]
    assert mat.sum() == sum(int((g != 255).sum()) for g in gts)
    labels = sorted(
        set(np.unique(np.concatenate([g.ravel() for g in gts]))) - {255})
    for i in labels:  # each ground-truth row, pixel by pixel
        for j in np.unique(np.concatenate([p.ravel() for p in preds])):
            want = sum(
                int(((g == i) & (p == j)).sum()) for g, p in zip(gts, preds))
            assert mat[i, j] == want, (i, j)


def test_mmdet_confusion_matrix_runs_unchanged_on_our_pickle(run):
    out = run['tmp'] / 'det_cm'
    _mim(
        [
            'run', 'mmdet', 'confusion_matrix', run['cfg'], run['pkl'],
            str(out), '--score-thr', '0.05', '--cfg-options'
        ] + run['opts'],
        cwd=run['tmp'])
    assert (out / 'confusion_matrix.png').is_file()


def test_analyze_results_ranks_a_perfect_and_an_empty_image(run):
    import torch
    results = _results(run)
    with open(run['ann']) as f:
        coco = json.load(f)
    cats = sorted(c['id'] for c in coco['categories'])
    good, bad = results[0], results[1]
    boxes = [
        a for a in coco['annotations']
        if a['image_id'] == good['img_id'] and not a['iscrowd']
    ]
    xyxy = [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in boxes)]
    good['pred_instances'] = dict(
        bboxes=torch.tensor(xyxy),
        scores=torch.ones(len(xyxy)),
        labels=torch.tensor([cats.index(a['category_id']) for a in boxes]))
    bad['pred_instances'] = dict(
        bboxes=torch.zeros(0, 4),
        scores=torch.zeros(0),
        labels=torch.zeros(0, dtype=torch.long))
    gt_good = torch.as_tensor(good['gt_sem_seg']['sem_seg'])
    good['pred_sem_seg']['sem_seg'] = torch.where(gt_good == 255, 0, gt_good)
    gt_bad = np.asarray(bad['gt_sem_seg']['sem_seg'])
    bad['pred_sem_seg']['sem_seg'] = torch.zeros_like(torch.as_tensor(gt_bad))
    pkl = run['tmp'] / 'edited.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump(results, f)
    # predicted all background: IoU(bg) = bg pixels / valid pixels, every
    # other label in the ground truth has IoU 0
    valid = gt_bad[gt_bad != 255]
    present = set(np.unique(valid)) | {0}
    bad_miou = 100 * (valid == 0).sum() / valid.size / len(present)
    for task, key, want_good, want_bad in (('det', 'bbox_mAP', 1.0, 0.0),
                                           ('seg', 'mIoU', 100.0, bad_miou)):
        out = run['tmp'] / f'ar_{task}'
        _run(
            [
                sys.executable,
                osp.join(TOOLS, 'analyze_results.py'), run['cfg'],
                str(pkl),
                str(out), '--task', task, '--topk', '1', '--cfg-options'
            ] + run['opts'],
            cwd=run['tmp'])
        with open(out / 'per_image.json') as f:
            table = json.load(f)
        assert [t['img_path']
                for t in table] == [bad['img_path'], good['img_path']]
        assert table[1][key] == pytest.approx(want_good, abs=1e-4)
        assert table[0][key] == pytest.approx(want_bad, abs=1e-3)
        (drawn_good, ), (drawn_bad, ) = (
            os.listdir(out / d) for d in ('good', 'bad'))
        stem = osp.splitext(osp.basename(good['img_path']))[0]
        assert drawn_good.startswith(stem + '_')


def test_print_config_of_mmdet_runs_unchanged(tmp_path):
    out = _mim(['run', 'mmdet', 'print_config', CFG], cwd=tmp_path)
    assert "type='BlitzNet'" in out and "type='BlitzNetSegMetric'" in out
    assert "data_root='data/samples/'" in out
