"""Training-stability pieces on the real model: non-finite losses are
refused before the optimizer step; weight checksums for replica checks."""
import copy

import pytest
import torch
from mmengine.logging import MessageHub

from blitznet_mm.engine.hooks.checkpoint_hook import first_non_finite
from blitznet_mm.engine.hooks.replica_consistency_hook import (
    ReplicaConsistencyHook, weight_checksums)
from blitznet_mm.testing.builders import build_model


@pytest.fixture(scope='module')
def model():
    return build_model('blitznet300_s8_voc.py')


def test_non_finite_loss_names_iteration_and_term(model):
    MessageHub.get_current_instance().update_info('iter', 41)
    losses = dict(
        loss_cls=torch.tensor(1.5),
        loss_bbox=torch.tensor(float('nan')),
        loss_seg=torch.tensor(float('inf')))
    with pytest.raises(FloatingPointError) as err:
        model.parse_losses(losses)
    msg = str(err.value)
    assert 'iteration 42' in msg
    assert 'loss_bbox=nan' in msg and 'loss_seg=inf' in msg
    assert 'loss_cls' not in msg
    loss, log = model.parse_losses(
        dict(loss_cls=torch.tensor(1.5), loss_bbox=torch.tensor(0.5)))
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


def _replica_worker(rank, world, port, diverge, out_dir):
    import json
    import logging

    import torch.distributed as dist
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=world)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    if diverge and rank == 1:
        with torch.no_grad():
            net[0].weight[0, 0, 0, 0] += 1e-6  # one value, barely
    messages = []

    class Logger:

        def info(self, msg):
            messages.append(('info', msg))

        def warning(self, msg):
            messages.append(('warning', msg))

    runner = type('Runner', (), dict(model=net, iter=7, logger=Logger()))()
    result = dict(warn=ReplicaConsistencyHook().check(runner))
    try:
        ReplicaConsistencyHook(on_mismatch='raise').check(runner)
        result['raised'] = None
    except RuntimeError as e:
        result['raised'] = str(e)
    result['messages'] = messages
    with open(f'{out_dir}/rank{rank}.json', 'w') as f:
        json.dump(result, f)
    logging.shutdown()
    dist.barrier()  # torch 2.1 gloo: no rank leaves while another waits
    dist.destroy_process_group()


@pytest.mark.parametrize('diverge', [False, True])
def test_replica_hook_detects_diverged_replicas(tmp_path, diverge):
    """Two gloo processes: identical replicas pass; when one weight of rank
    1 differs by 1e-6, both ranks warn naming it, or raise."""
    import json
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.spawn(_replica_worker, args=(2, port, diverge, str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        r = json.loads((tmp_path / f'rank{rank}.json').read_text())
        if not diverge:
            assert r['warn'] is True and r['raised'] is None
            assert r['messages'][0][0] == 'info'
            continue
        assert r['warn'] is False
        kind, msg = r['messages'][0]
        assert kind == 'warning' and "'0.weight'" in msg
        assert 'iteration 7' in msg
        assert r['raised'] and "'0.weight'" in r['raised']


def test_class_count_check_names_dataset_and_counts(coco_mini):
    """A model for 20 classes on an 80-class COCO set stops before
    training, naming the dataset file and both counts."""
    from blitznet_mm.engine.hooks import ClassCountCheckHook
    from blitznet_mm.testing.builders import coco_mini_dataset
    ds = coco_mini_dataset(coco_mini)
    loader = type('Loader', (), dict(dataset=ds))()
    model = torch.nn.Module()
    model.num_classes = 20
    runner = type(
        'Runner', (),
        dict(model=model, train_dataloader=loader, test_dataloader=loader))()
    with pytest.raises(
            ValueError,
            match=r'instances_train2017.json\) has '
            r'80 classes but the model has num_classes=20'):
        ClassCountCheckHook().before_train(runner)
    model.num_classes = 80
    ClassCountCheckHook().before_test(runner)  # agrees: no error
