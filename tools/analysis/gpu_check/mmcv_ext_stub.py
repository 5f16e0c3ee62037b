"""A stand-in for mmcv's compiled ops (``mmcv._ext``), for the GPU check
only.

mmcv 2.1.0 has no wheel for the GPU machine's Python 3.12 / torch 2.11 /
CUDA 13, and building its CUDA ops there takes longer than the check may
run. Without ``mmcv._ext``, ``import mmdet.models`` fails: every
``mmcv.ops`` module asks ``ext_loader.load_ext('_ext', [names])`` for its
functions at import time. This module answers every name (PEP 562 module
``__getattr__``) with a function that raises when called, and implements
the one op BlitzNet runs, ``nms`` (through ``mmcv.ops.batched_nms``), with
``torchvision.ops.nms`` where torchvision imports, else a greedy NMS in
torch. The check's report says when the stub was used: NMS speed there is
torchvision's, not mmcv's.
"""
import importlib.abc
import importlib.machinery
import sys
import types

import torch

NAME = 'mmcv._ext'


def _iou(boxes, offset):
    """(n, 4) x1y1x2y2 -> (n, n) IoU, mmcv's convention (+offset on the
    sides)."""
    w = (boxes[:, 2] - boxes[:, 0] + offset).clamp(min=0)
    h = (boxes[:, 3] - boxes[:, 1] + offset).clamp(min=0)
    area = w * h
    lt = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    wh = (rb - lt + offset).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area[:, None] + area[None] - inter).clamp(min=1e-12)


def greedy_nms(bboxes, scores, iou_threshold, offset=0):
    """Indices kept, highest score first (mmcv's order): a box is dropped
    when its IoU with a kept, higher-scoring box exceeds the threshold.
    O(n^2) memory: fine for BlitzNet's <= 400 candidates per class."""
    if bboxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=bboxes.device)
    order = scores.float().argsort(descending=True, stable=True)
    iou = _iou(bboxes.float()[order], offset).cpu()
    keep = []
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    for i in range(len(order)):
        if not suppressed[i]:
            keep.append(i)
            suppressed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, device=order.device)]


def nms(bboxes, scores, iou_threshold, offset=0):
    """``ext_module.nms`` as ``mmcv.ops.nms.NMSop`` calls it."""
    if offset == 0:
        try:
            from torchvision.ops import nms as tv_nms
        except Exception:  # absent, or built for another torch
            tv_nms = None
        if tv_nms is not None:
            return tv_nms(bboxes.float(), scores.float(), float(iou_threshold))
    return greedy_nms(bboxes, scores, float(iou_threshold), offset)


def backend() -> str:
    """Which implementation ``nms`` uses here."""
    try:
        import torchvision.ops  # noqa: F401
        return 'torchvision.ops.nms'
    except Exception:
        return 'greedy torch NMS (no torchvision)'


def _missing(name):
    if name.startswith('__'):
        raise AttributeError(name)

    def op(*args, **kwargs):
        raise NotImplementedError(
            f'mmcv._ext.{name}: mmcv was installed without its compiled ops; '
            'the GPU check stands in for nms only')

    op.__name__ = name
    return op


class _Loader(importlib.abc.Loader):
    """A loader for the spec: mmengine's ``mmcv_full_available()`` asks
    ``pkgutil.find_loader('mmcv._ext')``, which needs a module spec with a
    loader (else ValueError, or 'mmcv-lite' and no MMSyncBN revert)."""

    def create_module(self, spec):
        return sys.modules.get(spec.name)

    def exec_module(self, module):
        pass


def make_module() -> types.ModuleType:
    mod = types.ModuleType(NAME, __doc__)
    mod.__spec__ = importlib.machinery.ModuleSpec(NAME, _Loader())
    mod.__loader__ = mod.__spec__.loader
    mod.nms = nms
    mod.get_compiler_version = lambda: 'stub (gpu_check)'
    mod.get_compiling_cuda_version = lambda: f'stub (gpu_check: {backend()})'
    mod.__getattr__ = _missing  # every other name load_ext asks for
    mod.IS_GPU_CHECK_STUB = True
    return mod


def install(force: bool = False) -> str:
    """Make ``mmcv.ops`` importable: 'compiled' if the real ``mmcv._ext``
    imports (and ``force`` is False), else registers the stub and returns
    'stub'. Call it before anything imports ``mmcv.ops`` (mmdet, mmseg,
    blitznet_mm).

    Raises:
        RuntimeError: if ``mmcv.ops`` is already imported.
    """
    if 'mmcv.ops' in sys.modules:
        raise RuntimeError('mmcv.ops is already imported: install the stub '
                           'first')
    if not force:
        try:
            import mmcv._ext  # noqa: F401
            return 'compiled'
        except ImportError:
            pass
    import mmcv
    sys.modules[NAME] = mmcv._ext = make_module()
    return 'stub'
