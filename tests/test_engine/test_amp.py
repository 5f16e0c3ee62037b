"""Mixed-precision training (``tools/train.py --amp``): bf16 AMP trains on
the CPU, and the losses under fp16 autocast stay close to fp32."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate

from blitznet_mm.engine import configure_amp
from blitznet_mm.testing.builders import build_model, coco_mini_dataset


def test_configure_amp_picks_the_wrapper():
    assert configure_amp({}, 'bf16',
                         cuda=False) == dict(type='BF16OptimWrapper')
    assert configure_amp({}, 'fp16', cuda=True) == dict(
        type='AmpOptimWrapper', loss_scale='dynamic', dtype='float16')
    with pytest.raises(ValueError, match='needs a CUDA GPU'):
        configure_amp({}, 'fp16', cuda=False)
    with pytest.raises(ValueError, match="'fp16' or 'bf16'"):
        configure_amp({}, 'int8', cuda=False)


@pytest.mark.slow
def test_bf16_amp_trains_10_iterations_on_real_images(coco_mini):
    """Each loss term's last 3 iterations sum to < 0.7 of its first 3
    (0.36, 0.29, 0.10 for cls, bbox, seg with seed 0)."""
    from mmdet.registry import OPTIM_WRAPPERS
    torch.manual_seed(0)
    # the small network: the subject is the precision of its op types
    model = build_model(small=True).train()
    optim = OPTIM_WRAPPERS.build(
        configure_amp(
            dict(optimizer=torch.optim.Adam(model.parameters(), lr=1e-3)),
            'bf16',
            cuda=False))
    dtypes = set()
    model.neck.register_forward_hook(
        lambda m, i, out: dtypes.update(t.dtype for t in out))
    ds = coco_mini_dataset(coco_mini)
    batch = pseudo_collate([ds[0], ds[3]])
    losses = []
    for _ in range(10):
        log = model.train_step(copy.deepcopy(batch), optim)
        losses.append({k: float(v.detach()) for k, v in log.items()})
    assert dtypes == {torch.bfloat16}
    for key in ('loss_cls', 'loss_bbox', 'loss_seg'):
        series = [step[key] for step in losses]
        assert all(map(lambda v: v == v and abs(v) < float('inf'), series))
        assert sum(series[-3:]) < 0.7 * sum(series[:3]), (key, series)


def _cpu_fp16_autocast() -> bool:
    """torch < 2.3 has no fp16 CPU autocast: 2.2 disables it with a
    warning, 2.1 raises."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            with torch.autocast('cpu', dtype=torch.float16):
                x = torch.ones(2, 2)
                return (x @ x).dtype == torch.float16
        except RuntimeError:
            return False


@pytest.mark.slow
@pytest.mark.skipif(
    not _cpu_fp16_autocast(), reason='this torch has no fp16 CPU autocast')
def test_fp16_autocast_losses_within_1e_2_of_fp32(coco_mini):
    """CPU fp16 autocast is stricter than CUDA's (sums and softmax stay fp16
    there); the heads and losses on the network's features of one real
    image. The trunk and neck run fp32: CPU fp16 convolutions are emulated
    (~100x slower; one image for the same reason), and the heads hold the
    fp16-sensitive sums."""
    torch.manual_seed(0)
    model = build_model(small=True).train()  # 128-channel heads
    ds = coco_mini_dataset(coco_mini)
    data = model.data_preprocessor(pseudo_collate([ds[3]]), True)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
    samples = data['data_samples']

    def losses():
        out = model.bbox_head.loss(feats, samples)
        out.update(model.seg_head.loss(feats, samples))
        return {
            k: torch.stack(v).sum() if isinstance(v, list) else v
            for k, v in out.items()
        }

    ref = losses()
    with torch.autocast('cpu', dtype=torch.float16), torch.no_grad():
        half = losses()
    for k, v in ref.items():
        assert half[k].dtype == torch.float32, k
        assert torch.isfinite(half[k]), k
        assert abs(float(half[k]) / float(v) - 1) < 1e-2, (k, half[k], v)
