"""Command-line options that make the embedded-data config a short run on a
given COCO-layout folder (the tests that start tools/train.py and
tools/test.py as users do)."""
import os.path as osp

from .builders import config_path

# BlitzNet300 s4 on the real images of data/samples
CFG = config_path('blitznet300_coco_mini.py')

#: A small BlitzNet (ResNet-18 trunk, 128-channel levels, 18.8 M
#: parameters against 71.2 M) as ``cfg.model`` overrides: for the tests of
#: the machinery around the network (training tools, kill and resume,
#: determinism, analysis tools, the main job's chain of tools), whose
#: subject is not the network's size; a checkpoint with Adam's state is
#: ~225 MB instead of ~855 MB, and a step ~3x cheaper
SMALL = {
    'backbone.depth': 18,
    'neck.in_channels': [64, 128, 256, 512],
    'neck.out_channels': 128,
    'neck.extra_mid_channels': 128,
    'bbox_head.in_channels': 128,
    'seg_head.in_channels': 128
}
#: the same as ``--cfg-options`` of tools/train.py and tools/test.py
SMALL_MODEL = [
    f"model.{k}={str(v).replace(' ', '')}" for k, v in SMALL.items()
]


def with_small_network(cfg):
    """``cfg`` (an mmengine ``Config``) with the :data:`SMALL` network
    merged into its model, in place; returns it. A part the model does not
    have (``bbox_head=None`` of a segmentation-only config) stays absent."""
    cfg.merge_from_dict({
        f'model.{k}': v
        for k, v in SMALL.items() if cfg.model.get(k.split('.')[0])
    })
    return cfg


def small_config(folder, base: str = CFG) -> str:
    """``base`` with the :data:`SMALL` network, written as a config file
    into ``folder`` (for the tools that take no ``--cfg-options``, such as
    demo/image_demo.py); returns its path."""
    from mmengine.config import Config
    cfg = with_small_network(Config.fromfile(base))
    path = osp.join(str(folder), 'small_' + osp.basename(base))
    cfg.dump(path)
    return path


def data_options(root: str) -> list:
    """``--cfg-options`` pointing the config's data at ``root``: batch 2,
    two test images, no worker processes."""
    root = osp.abspath(root) + '/'
    ann = root + 'annotations/instances_train2017.json'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'test_evaluator.0.ann_file={ann}', 'train_dataloader.batch_size=2',
        'default_hooks.logger.interval=1', 'test_dataloader.dataset.indices=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]


def iters(n: int) -> list:
    """``--cfg-options`` for ``n`` iterations, validated and checkpointed at
    the end (one checkpoint kept)."""
    return [
        f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n}',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        f'param_scheduler.0.end={n}', 'param_scheduler.0.milestones=[1]'
    ]
