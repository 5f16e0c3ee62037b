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


@pytest.fixture(scope='session')
def trained(coco_mini):
    """BlitzNet300 s4 (COCO head) after 24 Adam steps on 4 real images, in
    eval mode, with its fp32 predictions on those images: its scores are
    peaked like a trained model's (a random model's are near uniform, so
    any rounding would reorder them). Returns (model, samples, predictions);
    copy the model before changing it."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    torch.manual_seed(0)
    model = build_model('blitznet300_coco.py')
    ds = coco_mini_dataset(coco_mini)
    samples = [ds[i] for i in range(4)]
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    model.train()
    for it in range(24):
        model.train_step(pseudo_collate(samples[it % 2 * 2:][:2]), optim)
    model.eval()
    model.dataset_meta = ds.metainfo
    with torch.no_grad():
        ref = [model.test_step(pseudo_collate([s]))[0] for s in samples]
    return model, samples, ref


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
    return (ref.pred_sem_seg.sem_seg ==
            out.pred_sem_seg.sem_seg).float().mean().item()


@pytest.fixture(scope='session')
def exported(trained, tmp_path_factory):
    """The ``trained`` model as a checkpoint and exported by
    tools/deployment/export.py (OpenVINO, which writes the ONNX file on the
    way). Returns dict(pth=..., onnx=..., xml=..., log=...)."""
    import subprocess
    import sys
    from blitznet_mm.deployment.export import onnx_export_unavailable
    if onnx_export_unavailable():
        pytest.skip(onnx_export_unavailable())
    model = trained[0]
    out = tmp_path_factory.mktemp('exported')
    pth = out / 'trained.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=model.dataset_meta)), pth)
    res = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'deployment', 'export.py'),
         config_path('blitznet300_coco_mini.py'), str(pth), '--backend',
         'openvino', '--out-dir', str(out)], capture_output=True, text=True,
        timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return dict(pth=str(pth), onnx=str(out / 'blitznet300_coco_mini.onnx'),
                xml=str(out / 'blitznet300_coco_mini.xml'),
                log=res.stdout + res.stderr)
