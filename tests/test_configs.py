"""Every shipped config trains: its train, val and test dataloaders are built
on VOCdevkit-, COCO-, COCO-Stuff-, COCO-panoptic- and BDD100K-layout data
and a blur set made from the real images of data/samples, it runs a
training iteration (an optimizer step) and a validation pass with the
updated weights."""
import glob
import logging
import os
import os.path as osp

import numpy as np
import pytest

from blitznet_mm.datasets.bdd100k import convert_bdd100k
from blitznet_mm.datasets.blur_dataset import make_blur_dataset
from blitznet_mm.testing import write_things_stuff_layouts
from blitznet_mm.testing.bdd100k_layout import write_bdd100k_layout
from blitznet_mm.testing.builders import REPO
from blitznet_mm.testing.value_checks import check_metrics, check_predictions
from blitznet_mm.testing.voc_layout import build_coco_layout, build_vocdevkit

#: detection loss terms of heads that do not name them loss_cls/loss_bbox
DET_LOSSES = {'CornerHead': ('det_loss', 'off_loss', 'pull_loss', 'push_loss')}
CONFIGS = sorted(
    osp.relpath(p, osp.join(REPO, 'configs')) for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


@pytest.fixture(scope='module')
def data_cwd(tmp_path_factory, coco_mini):
    """A working directory whose data/ holds what the configs name."""
    cwd = tmp_path_factory.mktemp('cwd')
    data = cwd / 'data'
    data.mkdir()
    build_vocdevkit(coco_mini, str(data / 'VOCdevkit'))
    build_coco_layout(coco_mini, str(data / 'coco'))
    # COCO-Stuff PNGs and COCO panoptic json + PNGs of the same images,
    # written from their real instance masks
    write_things_stuff_layouts(str(data))
    # BDD100K's official layout of the same images, then its converter
    write_bdd100k_layout(coco_mini, str(data / 'bdd100k'))
    convert_bdd100k(str(data / 'bdd100k'))
    os.symlink(osp.abspath(coco_mini), data / 'samples')
    make_blur_dataset(
        osp.join(coco_mini, 'train2017'), str(data / 'blur'), per_image=1)
    return cwd


def small_run(cfg, work_dir: str):
    """The config as it is, made small: 1 iteration, batch 2, a validation
    pass after it, no ImageNet download, no worker processes; mmdet's
    recipes at half their input side."""
    cfg.model.backbone.init_cfg = None
    cfg.work_dir = work_dir
    # the visualizer is a named global: one per run, or every run after the
    # first writes into the first run's (removed) directory
    cfg.visualizer.name = 'visualizer_' + osp.basename(work_dir)
    if cfg.train_cfg.get('type', 'EpochBasedTrainLoop') == \
            'EpochBasedTrainLoop':  # mmdet's recipes (configs/joint/)
        cfg.train_cfg = dict(type='IterBasedTrainLoop')
        cfg.log_processor.by_epoch = False
    cfg.train_cfg.max_iters = 1
    cfg.train_cfg.val_interval = 1
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1000
    cfg.default_hooks.checkpoint.save_last = False
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            cfg[key].update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.batch_size = 2
    if not cfg.get('val_dataloader'):  # validated by tools/test.py instead
        cfg.val_dataloader = cfg.test_dataloader
        cfg.val_evaluator = cfg.test_evaluator
        cfg.val_cfg = dict(type='ValLoop')
    # the test loader's batch: at most 2 images (the mini configs batch 4)
    cfg.test_dataloader.dataset.indices = 2
    cfg.val_dataloader.dataset.indices = 1  # a validation pass, kept short
    if 'joint' in osp.normpath(cfg.filename).split(osp.sep):
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            _halve_input(cfg[key].dataset.get('pipeline') or [])
    return cfg


def _halve_input(pipeline):
    """mmdet's recipes (configs/joint/) resize to 1333 x 800 or crop 511 x
    511: at half the side the same transforms and network train 4x cheaper
    (the BlitzNet configs stay at their 300 / 512)."""
    for t in pipeline:
        for key in ('scale', 'crop_size'):
            side = t.get(key)
            if isinstance(side, (tuple, list)) and min(side) > 320:
                t[key] = tuple(v // 2 for v in side)


@pytest.mark.slow
@pytest.mark.parametrize('name', CONFIGS)
def test_config_trains_and_validates(name, data_cwd, tmp_path, monkeypatch):
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.runner import Runner

    import blitznet_mm  # noqa: F401
    monkeypatch.chdir(data_cwd)
    cfg = small_run(
        Config.fromfile(osp.join(REPO, 'configs', name)), str(tmp_path))
    runner = Runner.from_cfg(cfg)
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    runner.train()
    assert runner.iter == 1
    metrics = runner.message_hub.log_scalars
    losses = {k for k in metrics if k.startswith('train/') and 'loss' in k}
    assert 'train/loss' in losses
    for k in losses:  # the logged values
        assert np.isfinite(metrics[k].data[0]).all(), (name, k)
    if cfg.model.get('bbox_head'):
        assert {
            'train/' + k
            for k in DET_LOSSES.get(cfg.model.bbox_head.type, ('loss_cls',
                                                               'loss_bbox'))
        } <= losses
    if cfg.model.get('seg_head'):
        assert 'train/loss_seg' in losses
    for task in cfg.model.get('seg_tasks') or ():  # extra seg tasks
        assert f"train/loss_seg_{task['name']}" in losses
    scored = {k for k in metrics if k.startswith('val/')}
    assert scored, f'{name}: validation produced no metric'
    assert check_metrics({k: metrics[k].current() for k in scored}, name)
    # the test loader builds and yields the packed inputs
    test_loader = runner.build_dataloader(cfg.test_dataloader)
    test_batch = next(iter(test_loader))
    assert 0 < len(test_batch['inputs']) <= cfg.test_dataloader.batch_size
    preds = runner.model.test_step(test_batch)
    check_predictions(preds, test_loader.dataset.metainfo, name)
    if name.startswith('joint/'):  # mmdet detectors + BlitzNet's branch
        for p in preds:  # boxes and a label map of the original image
            assert p.pred_instances.bboxes.shape[1:] == (4, )
            assert tuple(p.pred_sem_seg.sem_seg.shape) == \
                (1, ) + tuple(p.ori_shape)
        assert 'val/sem_seg/mIoU' in scored
        # CocoMetric scores nothing when there is no box at all (CornerNet
        # after an iteration pairs no corners)
        assert 'val/coco/bbox_mAP' in scored or not any(
            len(p.pred_instances) for p in preds)
