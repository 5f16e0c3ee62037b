"""CUDA-clean code, checked on a CPU-only machine: every tensor is made on
its inputs' device.

- ``meta`` as the default device: a factory call without ``device=`` makes a
  meta tensor, which cannot mix with the real CPU ones, so the loss or
  predict path fails at that line;
- fake ``cuda:0`` tensors (``FakeTensorMode``) for the segmentation path:
  mixing one with a CPU tensor raises CUDA's own device-mismatch error.

Both on a batch mixing an image with boxes and mask, one with boxes only
(no ``gt_sem_seg`` at all) and one with a mask only (no boxes)."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate

from blitznet_mm.testing.builders import build_model, coco_mini_dataset

# Upstream spots allowed to build CPU tensors, each run under the CPU as the
# default device. mmcv 2.1's batched_nms: `torch.tensor(1).to(boxes)`
# (mmcv/ops/nms.py), not ours to change.
ALLOW_CPU = [('mmcv.ops.nms', 'batched_nms')]


@pytest.fixture(scope='module')
def mixed_samples(coco_mini):
    ds = coco_mini_dataset(coco_mini)
    samples = [ds[i] for i in range(3)]
    # boxes only: no gt_sem_seg at all (dropped after the data preprocessor,
    # whose padding expects one per image)
    samples[1]['data_samples'].set_metainfo(dict(drop_mask=True))
    samples[2]['data_samples'].gt_instances = \
        samples[2]['data_samples'].gt_instances[:0]  # mask only
    return samples


def _preprocess(model, samples, training):
    data = model.data_preprocessor(
        pseudo_collate(copy.deepcopy(samples)), training)
    for ds in data['data_samples']:
        if ds.metainfo.get('drop_mask'):
            del ds.gt_sem_seg
    return data


@pytest.fixture()
def meta_default_device(monkeypatch):
    """``torch.device('meta')`` as the default device, the ``ALLOW_CPU``
    functions run under the CPU instead (wherever they were imported)."""
    import importlib
    import sys
    for module, name in ALLOW_CPU:
        fn = getattr(importlib.import_module(module), name)

        def on_cpu(*a, __fn=fn, **k):
            with torch.device('cpu'):
                return __fn(*a, **k)

        for mod in list(sys.modules.values()):
            if getattr(mod, name, None) is fn:
                monkeypatch.setattr(mod, name, on_cpu)
    return lambda: torch.device('meta')


@pytest.mark.slow
def test_loss_and_predict_make_no_device_less_tensor(mixed_samples,
                                                     meta_default_device):
    torch.manual_seed(0)
    model = build_model().train()
    data = _preprocess(model, mixed_samples, True)
    with meta_default_device():
        losses = model(**data, mode='loss')
        sum(losses.values()).backward()
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_seg'}
    assert all(v.device.type == 'cpu' and torch.isfinite(v)
               for v in losses.values())
    model.eval()
    data = _preprocess(model, mixed_samples, False)
    with meta_default_device(), torch.no_grad():
        out = model(**data, mode='predict')
    assert [o.pred_sem_seg.sem_seg.device.type for o in out] == ['cpu'] * 3
    assert all(o.pred_instances.bboxes.device.type == 'cpu' for o in out)


def _fake_cuda():
    """FakeTensorMode, or a skip where it cannot make CUDA tensors without a
    GPU: torch 2.1's CUDA build (the only torch 2.1 wheel on PyPI, in
    ``make test-compat``) initialises CUDA for them and finds no driver;
    the CPU builds (and any build with a GPU) make them."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    mode = FakeTensorMode(allow_non_fake_inputs=False)
    if not torch.cuda.is_available():
        try:
            with mode:
                torch.empty(1, device='cuda')
        except (RuntimeError, AssertionError) as e:
            if 'driver' not in str(e):
                raise
            pytest.skip(f'torch {torch.__version__} makes no fake CUDA '
                        f'tensors without a GPU: {e}')
    return mode


def test_fake_cuda_tensors_mix_with_cpu_ones_loudly():
    """The trick works: mixing a fake CUDA and a CPU tensor raises."""
    with _fake_cuda():
        a = torch.zeros(2, device='cuda')
        with pytest.raises(Exception, match='cuda|device'):
            a + torch.ones(2, device='cpu')


def _cuda(t):
    """A fake ``cuda:0`` tensor shaped like ``t`` (inside FakeTensorMode;
    values are not tracked, shapes, dtypes and devices are)."""
    return torch.empty(t.shape, dtype=t.dtype, device='cuda')


class _Call(torch.nn.Module):
    """Runs ``head.<method>`` under ``torch.func.functional_call``, so that
    the head's weights can be fake CUDA tensors."""

    def __init__(self, head, method):
        super().__init__()
        self.head, self.method = head, method

    def forward(self, *args):
        return getattr(self.head, self.method)(*args)


@pytest.mark.slow
def test_segmentation_path_on_fake_cuda_mixed_batch(mixed_samples):
    """The missing mask of the boxes-only image is made on the GPU with the
    others (it used to be made on the CPU and fail in torch.stack); the loss
    stays on the GPU."""
    from blitznet_mm.models.heads import gt_sem_seg_batch
    model = build_model().train()
    samples = [copy.deepcopy(s['data_samples']) for s in mixed_samples]
    del samples[1].gt_sem_seg
    size = tuple(samples[0].gt_sem_seg.sem_seg.shape[-2:])
    for ds in samples:
        ds.set_metainfo(dict(batch_input_shape=size))
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, *size))
    weights = dict(model.seg_head.state_dict())
    mode = _fake_cuda()
    with mode:
        for ds in samples:
            if 'gt_sem_seg' in ds:
                ds.gt_sem_seg.sem_seg = _cuda(ds.gt_sem_seg.sem_seg)
        gt = gt_sem_seg_batch(samples, size)
        assert gt.device.type == 'cuda' and gt.shape == (3, *size)
        x = tuple(torch.empty(3, *f.shape[1:], device='cuda') for f in feats)
        params = {'head.' + k: _cuda(v) for k, v in weights.items()}
        loss = torch.func.functional_call(
            _Call(model.seg_head, 'loss'), params, (x, samples))
        assert loss['loss_seg'].device.type == 'cuda'
        logits = torch.func.functional_call(
            _Call(model.seg_head, 'forward'), params, (x, ))
    assert logits.device.type == 'cuda'
    # label_maps index tensors, which FakeTensorMode cannot do for CUDA on a
    # CPU-only build; the meta test above covers the predict path


def test_missing_mask_follows_the_given_device():
    from mmdet.structures import DetDataSample

    from blitznet_mm.models.heads import gt_sem_seg_batch
    with torch.device('meta'):
        gt = gt_sem_seg_batch([DetDataSample()], (4, 5),
                              device=torch.device('cpu'))
    assert gt.device.type == 'cpu' and (gt == 255).all()
