"""Per-class post-processing of paper Sec. 3.5 on mmcv's NMS."""
import pytest
import torch

from blitznet_mm.models.heads import decode_boxes, per_class_nms


def _boxes(n):
    xy = torch.arange(n, dtype=torch.float32)[:, None] * 20
    return torch.cat([xy, xy, xy + 10, xy + 10], 1)  # disjoint boxes


def test_threshold_nms_and_per_class_cap():
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [50., 50., 60., 60.]])
    scores = torch.tensor([[0.9, 0.001], [0.8, 0.5], [0.7, 0.005]])
    b, s, lab = per_class_nms(scores, lambda i: boxes[i])
    # class 0: box 1 suppressed by box 0; class 1: only box 1 passes 0.01
    assert s.tolist() == [0.9, 0.7, 0.5] or torch.allclose(
        s, torch.tensor([0.9, 0.7, 0.5]))
    assert lab.tolist() == [0, 0, 1]
    assert torch.equal(b[2], boxes[1])


def test_caps_per_class_and_per_image():
    n = 120
    scores = torch.linspace(0.99, 0.02, n)[:, None].repeat(1, 5)
    b, s, lab = per_class_nms(
        scores,
        lambda i: _boxes(n)[i],
        nms_pre_per_class=100,
        max_per_class=50,
        max_per_img=200)
    assert len(s) == 200  # 5 classes x 50, then the best 200
    assert torch.bincount(lab, minlength=5).max() <= 50
    assert torch.all(s[:-1] >= s[1:])


def test_no_candidates_gives_empty_results():
    b, s, lab = per_class_nms(torch.full((10, 3), 0.001), lambda i: None)
    assert b.shape == (0, 4) and s.numel() == 0 and lab.numel() == 0


def _reference(scores, boxes, thr, k, iou, per_class, per_img):
    """The paper's strategy written out class by class (mmcv's nms)."""
    from mmcv.ops import nms
    out = []
    for c in range(scores.shape[1]):
        s, i = scores[:, c].topk(min(k, len(scores)))
        s, i = s[s > thr], i[s > thr]
        if len(s):
            dets, keep = nms(boxes[i], s, iou)
            out += [(float(d[4]), c, tuple(d[:4].tolist()))
                    for d in dets[:per_class]]
    return sorted(out, key=lambda r: -r[0])[:per_img]


def test_matches_class_by_class_reference_on_peaked_scores():
    # most anchors confident background, a few peaked: the pre-filter of
    # anchors with no class above the threshold must not change results
    g = torch.Generator().manual_seed(0)
    n, c = 3000, 6
    logits = torch.randn(n, c + 1, generator=g)
    logits[:, -1] += 6  # background
    logits[:200, :c] += 8 * torch.rand(200, c, generator=g)
    scores = logits.softmax(-1)[:, :-1]
    xy = torch.rand(n, 2, generator=g) * 200
    boxes = torch.cat([xy, xy + 10 + 40 * torch.rand(n, 2, generator=g)], 1)
    ref = _reference(scores, boxes, 0.01, 50, 0.45, 20, 60)
    # one NMS over all classes (offset trick) or one per class: same boxes
    for split_thr in (0, 10**6):
        b, s, lab = per_class_nms(
            scores,
            lambda i: boxes[i],
            score_thr=0.01,
            nms_pre_per_class=50,
            iou_threshold=0.45,
            max_per_class=20,
            max_per_img=60,
            split_thr=split_thr)
        assert 0 < len(ref) == len(s)
        assert torch.allclose(s, torch.tensor([r[0] for r in ref]))
        assert lab.tolist() == [r[1] for r in ref]
        assert torch.allclose(b, torch.tensor([r[2] for r in ref]))


@pytest.mark.parametrize('coder', [
    dict(target_means=[0., 0., 0., 0.], target_stds=[0.1, 0.1, 0.2, 0.2]),
    dict(
        target_means=[0.1, -0.1, 0., 0.2],
        target_stds=[1., 1., 1., 1.],
        clip_border=False,
        add_ctr_clamp=True,
        ctr_clamp=8)
])
def test_decode_boxes_is_the_coders_decode(coder, monkeypatch):
    """The same boxes as mmdet's ``DeltaXYWHBBoxCoder.decode`` (SSD's
    settings and others), also while torch.onnx exports, where mmdet's
    decode would take its ONNX branch."""
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    bbox_coder = DeltaXYWHBBoxCoder(**coder)
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(500, 2, generator=g) * 250
    priors = torch.cat([xy, xy + 5 + torch.rand(500, 2, generator=g) * 80], 1)
    # large offsets too: the width/height clamp at log(1000 / 16)
    deltas = torch.randn(500, 4, generator=g) * 3
    expected = bbox_coder.decode(priors, deltas, max_shape=(300, 280))
    assert torch.equal(
        decode_boxes(bbox_coder, priors, deltas, (300, 280)), expected)
    monkeypatch.setattr(torch.onnx, 'is_in_onnx_export', lambda: True)
    assert torch.equal(
        decode_boxes(bbox_coder, priors, deltas, (300, 280)), expected)
