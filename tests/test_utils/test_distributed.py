"""Training without CUDA: SyncBN configs fall back to BN (issue 7)."""
import pytest
import torch

from blitznet_mm.testing.builders import load_cfg
from blitznet_mm.utils import replace_sync_bn, setup_cpu_training


def test_syncbn_config_falls_back_to_bn_and_trains_on_cpu(monkeypatch):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = load_cfg('blitznet300_s8_voc.py')
    cfg.model.backbone.norm_cfg = dict(type='SyncBN', requires_grad=True)
    cfg.model.neck.norm_cfg = dict(type='SyncBN', requires_grad=True)
    cfg.sync_bn = 'torch'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.warns(UserWarning, match='3 SyncBN setting'):
        setup_cpu_training(cfg)
    assert cfg.sync_bn is None
    model = MODELS.build(cfg.model).train()
    assert not any(
        isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
    out = model._forward(torch.randn(2, 3, 300, 300))
    sum(t.sum() for level in out[0] for t in level).backward()


def test_replace_sync_bn_walks_nested_configs():
    cfg = dict(
        a=dict(norm_cfg=dict(type='SyncBN')),
        b=[dict(type='MMSyncBN'),
           dict(type='GN', num_groups=2)])
    assert replace_sync_bn(cfg) == 2
    assert cfg['a']['norm_cfg']['type'] == 'BN'
    assert [d['type'] for d in cfg['b']] == ['BN', 'GN']


def test_pytorch_launcher_outside_torchrun_is_a_clear_error(monkeypatch):
    cfg = load_cfg('blitznet300_s8_voc.py')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(KeyError, match='tools/dist_train.sh'):
        setup_cpu_training(cfg, 'pytorch')
