"""Model, config and dataset builders the tests and tools share: the
repository's configs without ImageNet weights (they cannot be downloaded
here) and the real COCO images embedded in data/samples (or a larger set of
the same layout named by ``BLITZNET_COCO_MINI``)."""
import logging
import os
import os.path as osp

import torch

_PKG_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the checkout this package was imported from (tests run from one), else
# the working directory
REPO = _PKG_ROOT if osp.isdir(osp.join(_PKG_ROOT, 'configs')) else os.getcwd()
COCO_MINI = os.environ.get('BLITZNET_COCO_MINI',
                           osp.join(REPO, 'data', 'samples'))


def config_path(name: str) -> str:
    """configs/<name> of the checkout."""
    return osp.join(REPO, 'configs', name)


def load_cfg(name: str):
    from mmengine.config import Config

    import blitznet_mm  # noqa: F401
    cfg = Config.fromfile(config_path(name))
    cfg.model.backbone.init_cfg = None  # no ImageNet download here
    return cfg


def build_model(name: str = 'blitznet300_coco.py',
                small: bool = False,
                **model_updates):
    """The config's model, randomly initialised (no ImageNet weights);
    ``small``: with ``blitznet_mm.testing.runs.SMALL``'s ResNet-18 network;
    ``model_updates`` replace top-level ``cfg.model`` keys."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = load_cfg(name)
    if small:
        from .runs import with_small_network
        with_small_network(cfg)
    cfg.model.update(model_updates)
    model = MODELS.build(cfg.model)
    return quiet_init_weights(model)


def quiet_init_weights(module):
    """``module.init_weights()`` without mmengine's log line per
    parameter; returns the module."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        module.init_weights()
    finally:
        logger.setLevel(level)
    return module


def coco_mini_dataset(root: str,
                      with_sem_seg: bool = True,
                      size: int = 300,
                      pipeline=None,
                      **kwargs):
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
    cfg = dict(
        type='BlitzNetCocoDataset',
        data_root=root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        with_sem_seg=with_sem_seg,
        pipeline=pipeline)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def matched_detections(ref, out, iou_thr: float, top: int = 100):
    """Per detection of ``ref`` among its ``top`` best: does ``out`` hold one
    of the same class with IoU >= iou_thr? Returns (matched (K,) bool, the
    index of the best such match or -1 (K,), ref scores (K,))."""
    from mmdet.structures.bbox import bbox_overlaps
    a, b = ref.pred_instances[:top], out.pred_instances
    iou = bbox_overlaps(a.bboxes, b.bboxes)
    ok = (iou >= iou_thr) & (a.labels[:, None] == b.labels[None])
    best = torch.where(ok, iou, torch.full_like(iou, -1)).argmax(1) \
        if len(b) else torch.zeros(len(a), dtype=torch.long)
    return ok.any(1), torch.where(ok.any(1), best, -1), a.scores


def mask_agreement(ref, out) -> float:
    """Fraction of pixels whose predicted label is equal."""
    return (ref.pred_sem_seg.sem_seg == out.pred_sem_seg.sem_seg
            ).float().mean().item()
