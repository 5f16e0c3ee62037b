"""Training throughput."""
import statistics
import time

import torch

from blitznet_mm.utils import default_dtype
from .machine import PeakMemory, sync, time_runs
from .models import COCO_BLITZNET, build
from .postproc import coco_dataset


def precisions(device) -> list:
    """(row name, optim-wrapper kind, autocast dtype) of the training rows.

    CPU: fp32 and bf16 autocast with plain SGD (the CPU rows of earlier
    runs). CUDA: what ``tools/train.py`` runs: TF32 (PyTorch's default for
    cuDNN convolutions) with ``OptimWrapper``, and mmengine's
    ``AmpOptimWrapper`` in fp16 with a dynamic loss scale (GradScaler) and
    in bf16 where the GPU has it.
    """
    if device.type != 'cuda':
        low = default_dtype(device.type)
        return [('fp32', 'plain', None),
                (str(low).split('.')[-1], 'autocast', low)]
    rows = [('tf32', 'plain', None),
            ('fp16 AMP (dynamic loss scale)', 'amp', torch.float16)]
    if torch.cuda.is_bf16_supported():
        rows.append(('bf16 AMP', 'amp', torch.bfloat16))
    return rows


def make_optim(model, kind, dtype, device):
    """SGD on CPU (as before); Adam, the configs' optimiser, on CUDA."""
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    if device.type != 'cuda':
        opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    if kind == 'amp':
        return AmpOptimWrapper(
            optimizer=opt, loss_scale='dynamic', dtype=dtype)
    return OptimWrapper(opt)


def train_step(model, optim, batch, autocast):
    """One optimisation step on a preprocessed batch; the loss (a tensor,
    not read back: reading would synchronise)."""
    with autocast, optim.optim_context(model):
        losses = model(**batch, mode='loss')
    loss, _ = model.parse_losses(losses)
    optim.update_params(loss)
    return loss


def step_times(model, optim, data, autocast, iters, warmup, device):
    """Seconds per step, and the peak memory (MiB). CPU: each step from
    the raw batch (preprocessing included, as before); CUDA: the batch is
    preprocessed once and the steps timed back to back with CUDA events."""
    if device.type != 'cuda':
        times = []
        for it in range(warmup + iters):
            sync(device)
            t = time.perf_counter()
            train_step(model, optim, model.data_preprocessor(data, True),
                       autocast)
            sync(device)
            if it >= warmup:
                times.append(time.perf_counter() - t)
        return times, None
    batch = model.data_preprocessor(data, True)
    for _ in range(warmup):
        train_step(model, optim, batch, autocast)
    with PeakMemory(device) as mem:
        times = time_runs(lambda: train_step(model, optim, batch, autocast),
                          iters, device)
    return times, mem.peak


def bench_train(args, device):
    from mmengine.dataset import pseudo_collate
    ds = coco_dataset(300)
    data = pseudo_collate([ds[i % len(ds)] for i in range(args.train_batch)])
    out = []
    for name in (COCO_BLITZNET, 'SSD300 (mmdet)'):
        model = build(name, num_det_classes=80)
        model.to(device).train()
        for prec, kind, dtype in precisions(device):
            optim = make_optim(model, kind, dtype, device)
            # the AMP wrapper opens its own autocast in optim_context
            amp = torch.autocast(
                device.type, dtype=dtype, enabled=kind == 'autocast')
            times, peak = step_times(model, optim, data, amp, args.train_iters,
                                     args.train_warmup, device)
            med = statistics.median(times)
            row = dict(
                model=name.replace(' (COCO head)', ''),
                precision=prec,
                batch=args.train_batch,
                iter_s=med,
                images_per_s=args.train_batch / med,
                optimizer=type(optim.optimizer).__name__,
                wrapper=type(optim).__name__)
            if peak is not None:
                row['peak_mem_mib'] = peak
            out.append(row)
            print(
                f'  train {name:24s} {prec}: '
                f'{args.train_batch / med:.2f} images/s',
                flush=True)
            del optim
        del model
    return out
