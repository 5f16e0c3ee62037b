"""Shared fixtures: the real COCO images embedded in data/samples (or a larger
set of the same layout named by BLITZNET_COCO_MINI) and
BlitzNet built from the repository's configs without ImageNet weights
(they cannot be downloaded here)."""
import logging
import os
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
COCO_MINI = os.environ.get(
    'BLITZNET_COCO_MINI',
    osp.join(REPO, 'data', 'samples'))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def config_path(name: str) -> str:
    return osp.join(REPO, 'configs', name)


@pytest.fixture(scope='session')
def coco_mini() -> str:
    ann = osp.join(COCO_MINI, 'annotations', 'instances_train2017.json')
    if not osp.isfile(ann):
        pytest.fail(f'real test data missing: {ann} (set BLITZNET_COCO_MINI)')
    return COCO_MINI


def load_cfg(name: str):
    import blitznet_mm  # noqa: F401
    from mmengine.config import Config
    cfg = Config.fromfile(config_path(name))
    cfg.model.backbone.init_cfg = None  # no ImageNet download here
    return cfg


def build_model(name: str = 'blitznet300_coco.py', **model_updates):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.logging import MMLogger
    register_all_modules()
    cfg = load_cfg(name)
    cfg.model.update(model_updates)
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def coco_mini_dataset(root: str, with_sem_seg: bool = True, size: int = 300,
                      pipeline=None, **kwargs):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    import blitznet_mm  # noqa: F401
    register_all_modules()
    if pipeline is None:
        pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadBlitzNetAnnotations'),
            dict(type='Resize', scale=(size, size), keep_ratio=False),
            dict(type='PackDetInputs')
        ]
    cfg = dict(type='BlitzNetCocoDataset', data_root=root,
               ann_file='annotations/instances_train2017.json',
               data_prefix=dict(img='train2017/'), with_sem_seg=with_sem_seg,
               pipeline=pipeline)
    cfg.update(kwargs)
    return DATASETS.build(cfg)
