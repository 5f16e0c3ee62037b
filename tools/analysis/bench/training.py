"""Training throughput."""
import statistics
import time

import torch

from blitznet_mm.utils import default_dtype

from .machine import sync
from .models import COCO_BLITZNET, build
from .postproc import coco_dataset


def bench_train(args, device):
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    ds = coco_dataset(300)
    data = pseudo_collate([ds[i] for i in range(args.train_batch)])
    low = default_dtype(device.type)
    out = []
    for name in (COCO_BLITZNET, 'SSD300 (mmdet)'):
        model = build(name, num_det_classes=80)
        model.to(device).train()
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4,
                                             momentum=0.9))
        for prec, enabled in (('fp32', False), (str(low).split('.')[-1],
                                                True)):
            amp = torch.autocast(device.type, dtype=low, enabled=enabled)
            times = []
            for it in range(args.train_warmup + args.train_iters):
                sync(device)
                t = time.perf_counter()
                batch = model.data_preprocessor(data, True)
                with amp:
                    losses = model(**batch, mode='loss')
                loss, _ = model.parse_losses(losses)
                optim.update_params(loss)
                sync(device)
                if it >= args.train_warmup:
                    times.append(time.perf_counter() - t)
            med = statistics.median(times)
            out.append(dict(model=name.replace(' (COCO head)', ''),
                            precision=prec, batch=args.train_batch,
                            iter_s=med,
                            images_per_s=args.train_batch / med))
            print(f'  train {name:24s} {prec}: '
                  f'{args.train_batch / med:.2f} images/s', flush=True)
        del model, optim
    return out

