"""Section (a) of the GPU check: correctness on the device, one function
per item (each its own guarded section). Real images from data/samples,
randomly initialised models (no weights can be downloaded); ``size`` is
the input side in pixels (the dry run uses 160 to fit 2 CPU cores)."""
import copy
import os.path as osp
import re
import tempfile
import time
import warnings

import torch

from blitznet_mm.analysis.bench.machine import sync
from blitznet_mm.analysis.bench.models import COCO_BLITZNET, COCO_MINI, build
from blitznet_mm.analysis.bench.postproc import coco_dataset

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))


def mixed_samples(size=300):
    """Three real 300x300 samples: boxes only (its ``gt_sem_seg`` deleted),
    boxes and mask, mask only (empty ``gt_instances``). The mask-less one
    comes first: mmdet's ``DetDataPreprocessor(pad_seg=True)`` pads the
    masks only if the first sample has one, and then reads every sample's
    (``mixed_batch`` records that case too)."""
    ds = coco_dataset(size)
    samples = [ds[i] for i in range(3)]
    del samples[0]['data_samples'].gt_sem_seg
    samples[2]['data_samples'].gt_instances = \
        samples[2]['data_samples'].gt_instances[:0]
    return samples


def _finite(t):
    return bool(torch.isfinite(t).all())


def mixed_batch(device, deadline, size=300):
    """Loss (fp32 and under autocast), backward and predict of one batch
    mixing the three kinds of annotation, on ``device``."""
    from mmengine.dataset import pseudo_collate

    from blitznet_mm.utils import default_dtype
    samples = mixed_samples(size)
    model = build(COCO_BLITZNET, num_det_classes=80).to(device).train()
    try:  # the same batch with a masked sample first
        model.data_preprocessor(
            pseudo_collate(
                copy.deepcopy(samples[1:2] + samples[:1] + samples[2:])), True)
        mask_first = 'ok'
    except Exception as e:
        mask_first = f'{type(e).__name__}: {str(e)[:300]}'
    data = model.data_preprocessor(
        pseudo_collate(copy.deepcopy(samples)), True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    low = default_dtype(device.type)
    with torch.autocast(device.type, dtype=low):
        amp_losses = model(**data, mode='loss')
    model.eval()
    with torch.no_grad():
        preds = model.test_step(pseudo_collate(copy.deepcopy(samples)))
    sync(device)
    out = dict(
        order='boxes only, boxes + mask, mask only',
        preprocessor_with_masked_sample_first=mask_first,
        losses={
            k: float(v)
            for k, v in losses.items()
        },
        losses_finite=all(_finite(v) for v in losses.values()),
        grads_finite=all(_finite(g) for g in grads),
        amp_dtype=str(low),
        amp_loss_dtypes={
            k: str(v.dtype)
            for k, v in amp_losses.items()
        },
        predict=[
            dict(
                detections=len(p.pred_instances),
                device=str(p.pred_instances.bboxes.device),
                sem_seg=list(p.pred_sem_seg.sem_seg.shape)) for p in preds
        ])
    out['ok'] = out['losses_finite'] and out['grads_finite'] and all(
        d == 'torch.float32' for d in out['amp_loss_dtypes'].values())
    return out


def fast_path_dtype(device, deadline):
    """``tools/test.py --fast``'s set-up through mmengine's Runner: the
    neck's output dtype seen by a forward hook inside ``runner.test()``
    must be the reduced precision (mmengine's TestLoop autocast must not
    switch the hook's off)."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from blitznet_mm.utils import default_dtype
    root = osp.abspath(COCO_MINI) + '/'
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'blitznet300_coco_mini.py'))
    cfg.merge_from_dict({
        'test_dataloader.dataset.data_root':
        root,
        'test_dataloader.dataset.indices':
        2,
        'test_dataloader.num_workers':
        0,
        'test_dataloader.persistent_workers':
        False,
        'test_evaluator.0.ann_file':
        root + 'annotations/instances_train2017.json'
    })
    cfg.work_dir = tempfile.mkdtemp(prefix='gpu_check_test_')
    cfg.load_from, cfg.launcher = None, 'none'
    cfg.custom_hooks = list(cfg.get('custom_hooks',
                                    [])) + [dict(type='FastInferenceHook')]
    runner = Runner.from_cfg(cfg)
    seen = set()

    def hook(module, inputs, output):
        first = output[0] if isinstance(output, (list, tuple)) else output
        seen.add(str(first.dtype))

    runner.model.neck.register_forward_hook(hook)
    metrics = runner.test()
    expected = str(default_dtype(device.type))
    return dict(
        neck_output_dtypes=sorted(seen),
        expected=expected,
        ok=seen == {expected},
        metrics={
            k: float(v)
            for k, v in metrics.items()
        })


def _op_name(message):
    """'upsample_bilinear2d_backward_out_cuda does not have a deterministic
    implementation, but ...' -> the op's name."""
    m = re.match(r'\s*(\S+) does not have a deterministic', message)
    return m.group(1) if m else message.split('\n')[0][:200]


def deterministic(device, deadline, size=300):
    """One train step with every op that has no deterministic
    implementation listed (``warn_only=True``), then one step as
    ``randomness=dict(deterministic=True)`` sets it (mmengine's
    ``set_random_seed``: raises at the first such op)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    from mmengine.runner.utils import set_random_seed
    samples = mixed_samples(size)[:2]
    model = build(COCO_BLITZNET, num_det_classes=80).to(device).train()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-4))
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic,
             torch.backends.cudnn.benchmark)
    out = {}
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            model.train_step(pseudo_collate(copy.deepcopy(samples)), optim)
            sync(device)
        out['nondeterministic_ops'] = sorted({
            _op_name(str(w.message))
            for w in caught if 'deterministic' in str(w.message)
        })
        set_random_seed(0, deterministic=True)
        try:
            model.train_step(pseudo_collate(copy.deepcopy(samples)), optim)
            sync(device)
            out['strict_step'] = 'ok'
        except RuntimeError as e:
            out['strict_step'] = f'RuntimeError: {str(e)[:500]}'
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.deterministic = saved[2]
        torch.backends.cudnn.benchmark = saved[3]
    out['ok'] = out['strict_step'] == 'ok'
    return out


def export_on_device(device, deadline, size=300):
    """Export a model that lives on ``device`` to ONNX, then run the file
    through ``BackendSession(device=...)``: where it ran (provider) and how
    far its outputs are from the PyTorch graph's."""
    from blitznet_mm.deployment import BackendSession, ExportGraph, export_onnx
    model = build('BlitzNet300 s4').to(device).eval()
    graph = ExportGraph(model, (size, size))
    path = osp.join(tempfile.mkdtemp(prefix='gpu_check_export_'), 'm.onnx')
    t = time.perf_counter()
    export_onnx(graph, path, {})
    export_s = time.perf_counter() - t
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        sess = BackendSession(path, device=str(device))
    x = torch.randn(
        2,
        3,
        size,
        size,
        device=device,
        generator=torch.Generator(device).manual_seed(0)) * 50
    with torch.no_grad():
        ref = graph(x)
    outs = sess(x.cpu().numpy())
    diffs = {
        name: float((torch.from_numpy(o) - r.cpu()).abs().max())
        for name, o, r in zip(graph.output_names, outs, ref)
    }
    out = dict(
        export_s=export_s,
        session_device=sess.device,
        providers=sess._ort.get_providers(),
        max_abs_diff=diffs,
        warnings=[
            str(w.message)[:300] for w in caught
            if issubclass(w.category, RuntimeWarning)
        ])
    # scores are probabilities, boxes pixels, logits unbounded (TF32 on
    # the PyTorch side makes fp32-vs-fp32 differ by ~1e-3 relative)
    out['ok'] = diffs.get('scores', 0) < 1e-3 and \
        diffs.get('boxes', 0) < 0.5
    return out
