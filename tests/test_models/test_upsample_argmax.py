"""The label map without upsampling every class equals F.interpolate +
argmax (the reference here), on a hand-built case, structured logits at
several sizes and the trained model's real logits."""
import pytest
import torch
import torch.nn.functional as F

from blitznet_mm.models.utils.upsample_argmax import (cell_candidates,
                                                      upsample_argmax)


def _reference(logits, size):
    up = F.interpolate(
        logits, size=size, mode='bilinear', align_corners=False)[0]
    top2 = up.topk(2, dim=0).values
    return up.argmax(0), top2[0] - top2[1]


def _assert_same_labels(logits, size, **kw):
    ref, gap = _reference(logits, size)
    got = upsample_argmax(logits, size, **kw)
    assert got.shape == ref.shape and got.dtype == torch.long
    differ = got != ref
    # float rounding may only decide between classes tied to ~1e-6
    assert (gap[differ] < 1e-5).all(), gap[differ].max()
    assert differ.float().mean() < 1e-4
    return got


def _regions(seed, coarse, size, num_classes=21):
    """Logits as a trained model's: each of a coarse grid's cells one class
    (+4), the others -4, smoothly blended to ``size``, a little noise."""
    g = torch.Generator().manual_seed(seed)
    cells = torch.randint(num_classes, (1, ) + coarse, generator=g)
    onehot = F.one_hot(cells, num_classes).permute(0, 3, 1, 2).float()
    blend = F.interpolate(onehot, size=size, mode='bilinear')
    return 8 * blend - 4 + 0.1 * torch.randn(
        (1, num_classes) + size, generator=g)


def test_a_class_that_wins_between_the_corners_is_kept():
    # class 0 leads at the top-left corner, class 1 at the bottom-right,
    # class 2 at neither diagonal corner's peak but at 6 everywhere: in the
    # middle 0 and 1 fall to ~5, so 2 wins there; the 12 classes at -5 can
    # never win and are pruned
    logits = torch.full((1, 15, 2, 2), -5.)
    logits[0, 0] = torch.tensor([[10., 0.], [0., 0.]])
    logits[0, 1] = torch.tensor([[0., 0.], [0., 10.]])
    logits[0, 2] = 6.
    classes, corners = cell_candidates(logits[0])
    assert classes[0].tolist() == [0, 1, 2]  # the top-left cell, ascending
    assert corners[0, :, 0].tolist() == [10., 0., 0., 0.]
    # the bottom-right cell is one pixel (clamped): class 1 alone wins
    assert set(classes[3].tolist()) == {1}
    ref, _ = _reference(logits, (8, 8))
    got = upsample_argmax(logits, (8, 8))
    assert torch.equal(got, ref)
    assert got[3:5, 3:5].eq(2).all() and got[0, 0] == 0 and got[7, 7] == 1


@pytest.mark.parametrize('size', [(301, 407), (75, 75), (20, 31), (1, 1),
                                  (640, 480)])
def test_structured_logits_at_any_size(size):
    logits = _regions(0, (6, 7), (38, 45))
    k = cell_candidates(logits[0])[0].shape[1]
    assert 4 * k < 21  # the candidate path, not the dense fallback
    _assert_same_labels(logits, size)


def test_row_bands_give_the_whole_map():
    logits = _regions(1, (5, 5), (30, 30))
    whole = upsample_argmax(logits, (300, 200))
    assert torch.equal(
        upsample_argmax(logits, (300, 200), 16 * 200 * 7), whole)
    assert torch.equal(upsample_argmax(logits, (300, 200), 1), whole)


def test_near_uniform_logits_take_the_dense_path_exactly():
    torch.manual_seed(0)
    logits = torch.randn(1, 21, 38, 38) * 1e-3  # an untrained model's
    ref, _ = _reference(logits, (150, 200))
    assert torch.equal(upsample_argmax(logits, (150, 200)), ref)


@pytest.mark.slow
def test_trained_model_logits(trained):
    from mmengine.dataset import pseudo_collate

    from blitznet_mm.models.detectors.blitznet import head_outputs
    from blitznet_mm.models.heads.seg_head import valid_logits
    model, samples, _ = trained
    with torch.no_grad():
        for s in samples:
            data = model.data_preprocessor(pseudo_collate([s]), False)
            logits = head_outputs(model, model.extract_feat(
                data['inputs']))['seg'].float()
            meta = data['data_samples'][0].metainfo
            valid = valid_logits(logits[0], meta)
            k = cell_candidates(valid[0])[0].shape[1]
            assert 4 * k < valid.shape[1]  # 81 classes, a few candidates
            h, w = meta['ori_shape'][:2]
            for size in ((h, w), (3 * h + 1, 3 * w - 1)):
                _assert_same_labels(valid, size)
