"""The deterministic bilinear resize equals ``F.interpolate`` (values and
gradients), and BlitzNet's pool6 level is the spatial mean."""
import pytest
import torch
import torch.nn.functional as F

from blitznet_mm.models.utils.resize import (bilinear_resize,
                                             bilinear_resize_matmul,
                                             interpolation_matrix)


def test_interpolation_matrix_by_hand():
    # 2 -> 4, half-pixel rule: sources 0 (clamped), 0.25, 0.75, 1.25 -> 1
    w = interpolation_matrix(4, 2)
    expected = torch.tensor([[1., 0.], [.75, .25], [.25, .75], [0., 1.]])
    assert torch.equal(w, expected)
    # 3 -> 2: sources 0.25 and 1.75
    w = interpolation_matrix(2, 3)
    assert torch.allclose(w, torch.tensor([[.75, .25, 0.], [0., .25, .75]]))


@pytest.mark.parametrize('src,dst', [((5, 5), (10, 10)), ((38, 38), (75, 75)),
                                     ((3, 7), (19, 2)), ((1, 1), (4, 3))])
def test_matmul_resize_equals_interpolate(src, dst):
    torch.manual_seed(0)
    x = torch.randn(2, 3, *src, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 3, *dst, dtype=torch.float64)
    ref = F.interpolate(x, size=dst, mode='bilinear', align_corners=False)
    gx_ref, = torch.autograd.grad(ref, x, g)
    out = bilinear_resize_matmul(x, dst)
    gx, = torch.autograd.grad(out, x, g)
    assert torch.allclose(out, ref, rtol=0, atol=1e-12)
    assert torch.allclose(gx, gx_ref, rtol=0, atol=1e-12)


def test_deterministic_mode_takes_the_matmul_path():
    x = torch.randn(1, 2, 4, 4, requires_grad=True)
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        out = bilinear_resize(x, (8, 8))
    finally:
        torch.use_deterministic_algorithms(was)
    # matmul backward nodes, not UpsampleBilinear2DBackward
    assert 'Upsample' not in type(out.grad_fn).__name__
    assert 'Upsample' in type(bilinear_resize(x, (8, 8)).grad_fn).__name__
