"""One objective on 1 or N processes: DDP over 2 gloo processes on 2 + 2 real
images gives the gradient of 1 process on the same 4 images (the authors
trained with batch 32 on one GPU; docs/training_recipe.md, "Batch and
GPUs"). The batch holds an image without boxes and one without a mask, so
every normaliser (positives, the 'batch' hard-negative budget, valid mask
pixels) must be global for the two to agree."""
import copy
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from blitznet_mm.testing.builders import build_model, coco_mini_dataset
from blitznet_mm.testing.tool_runs import fork_server

MODES = ('batch', 'image')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _samples(root):
    """4 real images; image 1 has no boxes, image 2 no mask (dropped after
    the data preprocessor, whose padding expects one per image)."""
    ds = coco_mini_dataset(root)
    samples = [ds[i] for i in range(4)]
    samples[1]['data_samples'].gt_instances = \
        samples[1]['data_samples'].gt_instances[:0]
    samples[2]['data_samples'].set_metainfo(dict(drop_mask=True))
    return samples


def _model():
    torch.manual_seed(0)
    # the small network: the normalisers, not the network, are the subject
    model = build_model('blitznet300_coco.py', small=True).train()
    for m in model.modules():  # BN statistics are per process by design
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    return model


def _grads(model, step, samples, mode):
    """Flat gradient of the summed losses, and the loss values."""
    from mmengine.dataset import pseudo_collate
    model.zero_grad()
    for m in (model, getattr(model, 'module', None)):
        if m is not None and hasattr(m, 'bbox_head'):
            m.bbox_head.train_cfg['hard_negative_mining'] = mode
    base = getattr(model, 'module', model)
    data = base.data_preprocessor(pseudo_collate(copy.deepcopy(samples)), True)
    for ds in data['data_samples']:
        if ds.metainfo.get('drop_mask'):
            del ds.gt_sem_seg
    losses = step(**data, mode='loss')
    sum(losses.values()).backward()
    flat = torch.cat(
        [p.grad.flatten() for p in base.parameters() if p.requires_grad])
    return flat, {k: float(v) for k, v in losses.items()}


def _worker(rank, world, port, root, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        from mmengine.model import MMDistributedDataParallel
        model = _model()
        ddp = MMDistributedDataParallel(module=model, device_ids=None)
        samples = _samples(root)[2 * rank:2 * rank + 2]
        result = {m: _grads(model, ddp, samples, m) for m in MODES}
        if rank == 0:
            torch.save({m: g for m, (g, _) in result.items()}, out)
    finally:
        dist.barrier()  # torch 2.1 gloo: no rank leaves while another waits
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def ddp_grads(coco_mini, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('ddp') / 'rank0.pt')
    fork_server()  # the ranks fork from it: no new interpreters
    mp.start_processes(
        _worker,
        args=(2, _free_port(), coco_mini, out),
        nprocs=2,
        start_method='forkserver')
    return torch.load(out)


@pytest.fixture(scope='module')
def single_grads(coco_mini):
    model = _model()
    samples = _samples(coco_mini)
    return {m: _grads(model, model, samples, m) for m in MODES}


@pytest.mark.slow
@pytest.mark.parametrize('mode', MODES)
def test_two_processes_give_the_one_process_gradient(mode, ddp_grads,
                                                     single_grads):
    ref, losses = single_grads[mode]
    assert all(v > 0 for v in losses.values()), losses
    got = ddp_grads[mode]
    rel = float((got - ref).norm() / ref.norm())
    assert rel < 1e-5, f'{mode} mining: gradient {rel:.2e} relative apart'
