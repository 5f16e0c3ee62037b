"""Section (c2) of the GPU check: 2 processes x 2 images under DDP give the
gradient of 1 process on the same 4 images (the objective of the authors'
one-GPU batch; tests/test_models/test_ddp_objective.py is the CPU version).

With one GPU both processes share it. NCCL refuses two ranks on one
device, so the processes talk gloo over CUDA tensors (gloo's all-reduce
and broadcast take CUDA tensors; DDP's gradient buckets stay on the GPU).
Where that fails the section runs the same comparison on the CPU and says
so. TF32 is off for the comparison: it is about the objective, not
rounding.

Nothing at module level imports mmcv.ops: spawned workers import this
module first and install the mmcv._ext stand-in before anything else.
"""
import copy
import os
import socket
import sys
import tempfile
import time

import torch

MODES = ('batch', 'image')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _setup(stub: bool):
    from .mmcv_ext_stub import install
    if 'mmcv.ops' not in sys.modules:  # a spawned worker: nothing imported
        install(force=stub)
    import blitznet_mm  # noqa: F401  (registers the modules)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


def samples(size=300):
    """4 real images; image 0 has no mask, image 2 no boxes. The mask-less
    one leads its batch (and rank 0's pair): mmdet's DetDataPreprocessor
    with ``pad_seg=True`` pads masks only when the first sample has one,
    and then reads every sample's (see unit.mixed_batch)."""
    from blitznet_mm.analysis.bench.postproc import coco_dataset
    ds = coco_dataset(size)
    out = [ds[i] for i in range(4)]
    del out[0]['data_samples'].gt_sem_seg
    out[2]['data_samples'].gt_instances = \
        out[2]['data_samples'].gt_instances[:0]
    return out


def _model(device):
    from blitznet_mm.analysis.bench.models import COCO_BLITZNET, build
    torch.manual_seed(0)
    model = build(COCO_BLITZNET, num_det_classes=80).to(device).train()
    for m in model.modules():  # BN statistics are per process by design
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    return model


def grads(model, step, data, mode):
    """Flat gradient (on the CPU) of the summed losses."""
    from mmengine.dataset import pseudo_collate
    base = getattr(model, 'module', model)
    base.bbox_head.train_cfg['hard_negative_mining'] = mode
    base.zero_grad()
    batch = base.data_preprocessor(pseudo_collate(copy.deepcopy(data)), True)
    losses = step(**batch, mode='loss')
    sum(losses.values()).backward()
    return torch.cat([
        p.grad.flatten() for p in base.parameters() if p.requires_grad
    ]).cpu()


def _worker(rank, world, port, device, stub, out, size):
    import torch.distributed as dist
    _setup(stub)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        from torch.nn.parallel import DistributedDataParallel as DDP
        model = _model(device)
        ddp = DDP(model, device_ids=[0] if device.startswith('cuda') else None)
        mine = samples(size)[2 * rank:2 * rank + 2]
        result = {m: grads(model, ddp, mine, m) for m in MODES}
        if rank == 0:
            torch.save(result, out)
    finally:
        dist.destroy_process_group()


def _spawn(device, stub, deadline, size):
    import torch.multiprocessing as mp
    out = os.path.join(tempfile.mkdtemp(prefix='gpu_check_ddp_'), 'r0.pt')
    ctx = mp.start_processes(
        _worker,
        args=(2, _free_port(), device, stub, out, size),
        nprocs=2,
        start_method='spawn',
        join=False)
    try:
        while not ctx.join(timeout=2):
            if deadline.over(2.):
                raise TimeoutError('DDP workers still running at the end '
                                   'of the section budget')
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.terminate()
    return torch.load(out)


def compare(device, stub, deadline, size=300):
    """rel. gradient difference ||g_ddp - g_1|| / ||g_1|| per mining
    mode, DDP over 2 gloo processes on ``device`` vs 1 process."""
    _setup(stub)
    t = time.perf_counter()
    model = _model(device)
    data = samples(size)
    ref = {m: grads(model, model, data, m) for m in MODES}
    del model
    print(
        f'   1-process gradients on {device} in '
        f'{time.perf_counter() - t:.1f} s; 2 DDP processes next',
        flush=True)
    got = _spawn(device, stub, deadline, size)
    rel = {m: float((got[m] - ref[m]).norm() / ref[m].norm()) for m in MODES}
    return dict(
        device=device,
        backend='gloo',
        rel_diff=rel,
        seconds=time.perf_counter() - t,
        ok=all(v < 1e-4 for v in rel.values()))


def equivalence(device, deadline, stub=False, size=300):
    """On ``device`` (both processes on the one GPU); where gloo over CUDA
    tensors fails, the same on the CPU, with the CUDA error kept."""
    dev = 'cuda:0' if device.type == 'cuda' else 'cpu'
    try:
        return compare(dev, stub, deadline, size)
    except Exception as e:
        if dev == 'cpu':
            raise
        res = compare('cpu', stub, deadline, size)
        res['cuda_error'] = f'{type(e).__name__}: {str(e)[:600]}'
        res['note'] = ('gloo over CUDA tensors failed on the one GPU; this '
                       'is the CPU comparison')
        return res
