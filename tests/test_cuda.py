"""Checks that need a CUDA GPU; skipped without one (`pytest -m cuda` on a GPU
machine; tools/analysis/gpu_check.py runs the same and more)."""
import copy

import pytest
import torch

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(), reason='needs a CUDA GPU')
]


@pytest.fixture(scope='module')
def cuda_batch(coco_mini):
    from blitznet_mm.testing.builders import coco_mini_dataset
    ds = coco_mini_dataset(coco_mini)
    samples = [ds[i] for i in range(3)]
    samples[1]['data_samples'].set_metainfo(dict(drop_mask=True))
    samples[2]['data_samples'].gt_instances = \
        samples[2]['data_samples'].gt_instances[:0]
    return samples


def _preprocess(model, samples, training):
    from mmengine.dataset import pseudo_collate
    data = model.data_preprocessor(
        pseudo_collate(copy.deepcopy(samples)), training)
    for ds in data['data_samples']:  # on the GPU already: the A1 case
        if ds.metainfo.get('drop_mask'):
            del ds.gt_sem_seg
    return data


def test_mixed_batch_loss_and_predict_on_cuda(cuda_batch):
    from blitznet_mm.testing.builders import build_model
    model = build_model().cuda().train()
    data = _preprocess(model, cuda_batch, True)
    losses = model(**data, mode='loss')
    sum(losses.values()).backward()
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    data = _preprocess(model, cuda_batch, False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert len(out) == 3


def test_deterministic_backward_on_cuda(cuda_batch, monkeypatch):
    from blitznet_mm.testing.builders import build_model
    monkeypatch.setenv('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    model = build_model().cuda().train()
    data = _preprocess(model, cuda_batch, True)
    torch.use_deterministic_algorithms(True)
    try:
        grads = []
        for _ in range(2):
            model.zero_grad()
            sum(model(**data, mode='loss').values()).backward()
            grads.append(
                torch.cat([
                    p.grad.flatten() for p in model.parameters()
                    if p.grad is not None
                ]))
    finally:
        torch.use_deterministic_algorithms(False)
    assert torch.equal(grads[0], grads[1])


def test_mmcv_nms_runs_on_cuda():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]],
                         device='cuda')
    _, keep = nms(boxes, torch.tensor([.9, .8], device='cuda'), 0.5)
    assert keep.tolist() == [0]
