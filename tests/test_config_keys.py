"""Every shipped config's model builds (on the meta device: no weights, no
init) and states no dead key: each key of a typed sub-config is taken by
its class's constructor, each train_cfg / test_cfg key is named by a source
of a module holding it (blitznet_mm.testing.config_keys)."""
import pytest
import torch

from blitznet_mm.testing.builders import load_cfg
from blitznet_mm.testing.config_keys import (dead_keys, shipped_configs,
                                             unread_cfg_keys)


@pytest.fixture(scope='module', autouse=True)
def registries():
    from mmdet.utils import register_all_modules
    from mmseg.utils import register_all_modules as register_mmseg
    register_all_modules()
    register_mmseg(init_default_scope=False)  # the 'mmseg.X' seg heads


@pytest.mark.parametrize('name', shipped_configs())
def test_config_model_builds_and_every_key_is_read(name):
    from mmdet.registry import MODELS
    cfg = load_cfg(name)
    assert dead_keys(cfg.model.to_dict()) == []
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert model.ignore_index == 255
    assert unread_cfg_keys(model) == []


def test_a_key_nothing_reads_is_found():
    from mmdet.registry import MODELS
    cfg = load_cfg('blitznet300_fcn_voc.py').model.to_dict()
    # a typo that mmdet's box coder swallows (**kwargs): the model builds
    # and the box targets silently keep the default stds
    cfg['bbox_head']['bbox_coder']['target_std'] = [1, 1, 1, 1]
    with torch.device('meta'):
        MODELS.build(cfg)
    assert dead_keys(cfg) == [
        'model.bbox_head.bbox_coder.target_std (DeltaXYWHBBoxCoder)'
    ]
    cfg['bbox_head']['loss_cls']['ignore_idx'] = 255  # refused at build
    cfg['seg_head']['dilation'] = 2  # FCNHead's: read
    cfg['seg_head']['resize_mode'] = 'nearest'  # BlitzNetSegHead's only
    assert dead_keys(cfg)[1:] == [
        'model.bbox_head.loss_cls.ignore_idx (CrossEntropyLoss)',
        'model.seg_head.resize_mode (FCNHead)'
    ]
    with pytest.raises(
            ValueError,
            match=r"model\.neck: no registry knows type='NoSuchNeck'"):
        dead_keys(dict(cfg, neck=dict(type='NoSuchNeck')))


def test_a_train_or_test_cfg_key_nothing_reads_is_found():
    from mmdet.registry import MODELS
    cfg = load_cfg('blitznet300_voc.py').model.to_dict()
    cfg['test_cfg']['max_per_imgs'] = 100  # a typo: the default 200 stays
    with torch.device('meta'):
        model = MODELS.build(dict(cfg, train_cfg=None))
    assert unread_cfg_keys(model) == ['test_cfg.max_per_imgs']
    # a segmentation-only model keeps no detection settings
    seg_only = dict(cfg, bbox_head=None, train_cfg=None)
    with torch.device('meta'):
        model = MODELS.build(seg_only)
    assert unread_cfg_keys(model) == [
        'test_cfg.max_per_class', 'test_cfg.max_per_img',
        'test_cfg.max_per_imgs', 'test_cfg.nms', 'test_cfg.nms_pre_per_class',
        'test_cfg.score_thr'
    ]
