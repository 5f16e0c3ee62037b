"""Training-stability pieces on the real model: non-finite losses are
refused before the optimizer step; weight checksums for replica checks."""
import copy

import pytest
import torch
from mmengine.logging import MessageHub

from blitznet_mm.engine.hooks.checkpoint_hook import first_non_finite
from blitznet_mm.engine.hooks.replica_consistency_hook import (
    ReplicaConsistencyHook, weight_checksums)
from conftest import build_model


@pytest.fixture(scope='module')
def model():
    return build_model('blitznet300_s8_voc.py')


def test_non_finite_loss_names_iteration_and_term(model):
    MessageHub.get_current_instance().update_info('iter', 41)
    losses = dict(loss_cls=torch.tensor(1.5),
                  loss_bbox=torch.tensor(float('nan')),
                  loss_seg=torch.tensor(float('inf')))
    with pytest.raises(FloatingPointError) as err:
        model.parse_losses(losses)
    msg = str(err.value)
    assert 'iteration 42' in msg
    assert 'loss_bbox=nan' in msg and 'loss_seg=inf' in msg
    assert 'loss_cls' not in msg
    loss, log = model.parse_losses(dict(loss_cls=torch.tensor(1.5),
                                        loss_bbox=torch.tensor(0.5)))
    assert float(loss) == 2.0 and float(log['loss']) == 2.0


def test_first_non_finite_and_checksums(model):
    assert first_non_finite(model) is None
    other = copy.deepcopy(model)
    names, a = weight_checksums(model)
    _, b = weight_checksums(other)
    assert torch.equal(a, b) and len(names) == a.shape[0] > 100
    with torch.no_grad():
        other.neck.downscale[0].units[0].conv1.weight[0, 0, 0, 0] += 1e-3
    _, c = weight_checksums(other)
    changed = [n for n, x, y in zip(names, a, c) if not torch.equal(x, y)]
    assert changed == ['neck.downscale.0.units.0.conv1.weight']
    with torch.no_grad():
        other.seg_head.cls_seg.bias[3] = float('nan')
    assert first_non_finite(other) == 'seg_head.cls_seg.bias'


def test_replica_hook_rejects_unknown_policy():
    with pytest.raises(ValueError, match='on_mismatch'):
        ReplicaConsistencyHook(on_mismatch='ignore')
