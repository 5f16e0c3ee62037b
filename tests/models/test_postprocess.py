"""Per-class post-processing of paper Sec. 3.5 on mmcv's NMS."""
import torch

from blitznet_mm.models.heads import per_class_nms


def _boxes(n):
    xy = torch.arange(n, dtype=torch.float32)[:, None] * 20
    return torch.cat([xy, xy, xy + 10, xy + 10], 1)  # disjoint boxes


def test_threshold_nms_and_per_class_cap():
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [50., 50., 60., 60.]])
    scores = torch.tensor([[0.9, 0.001], [0.8, 0.5], [0.7, 0.005]])
    b, s, l = per_class_nms(scores, lambda i: boxes[i])
    # class 0: box 1 suppressed by box 0; class 1: only box 1 passes 0.01
    assert s.tolist() == [0.9, 0.7, 0.5] or torch.allclose(
        s, torch.tensor([0.9, 0.7, 0.5]))
    assert l.tolist() == [0, 0, 1]
    assert torch.equal(b[2], boxes[1])


def test_caps_per_class_and_per_image():
    n = 120
    scores = torch.linspace(0.99, 0.02, n)[:, None].repeat(1, 5)
    b, s, l = per_class_nms(scores, lambda i: _boxes(n)[i],
                            nms_pre_per_class=100, max_per_class=50,
                            max_per_img=200)
    assert len(s) == 200  # 5 classes x 50, then the best 200
    assert torch.bincount(l, minlength=5).max() <= 50
    assert torch.all(s[:-1] >= s[1:])


def test_no_candidates_gives_empty_results():
    b, s, l = per_class_nms(torch.full((10, 3), 0.001), lambda i: None)
    assert b.shape == (0, 4) and s.numel() == 0 and l.numel() == 0
