"""Paper Sec. 3.5 post-processing on cases worked out by hand: softmax over
C + 1 with the background dropped, scores > 0.01, per class the top 400
before NMS, NMS at IoU 0.45, 50 per class, then 200 per image; boxes
decoded and scaled to the original image. Settings from the shipped
``test_cfg`` (configs/_base_/models/blitznet300.py)."""
import math

import pytest
import torch

from blitznet_mm.models.heads import per_class_nms
from blitznet_mm.testing.builders import config_path


def _test_cfg():
    from mmengine.config import Config
    return Config.fromfile(
        config_path('_base_/models/blitznet300.py')).model.test_cfg


def _run(scores, boxes, **kw):
    cfg = _test_cfg()
    args = dict(
        score_thr=cfg.score_thr,
        nms_pre_per_class=cfg.nms_pre_per_class,
        iou_threshold=cfg.nms.iou_threshold,
        max_per_class=cfg.max_per_class,
        max_per_img=cfg.max_per_img)
    args.update(kw)
    return per_class_nms(torch.as_tensor(scores), lambda i: boxes[i], **args)


def test_shipped_settings_are_the_papers():
    cfg = _test_cfg()
    assert (cfg.score_thr, cfg.nms_pre_per_class, cfg.nms.iou_threshold,
            cfg.max_per_class, cfg.max_per_img) == (0.01, 400, 0.45, 50, 200)


def test_nms_threshold_045_on_both_sides():
    """10 x 10 boxes shifted by x: IoU (10 - x) / (10 + x). x = 3.5: 0.481
    > 0.45, suppressed; x = 4: 0.429, kept. A third box at x = 20 is
    disjoint."""
    boxes = torch.tensor([[0., 0., 10., 10.], [3.5, 0., 13.5, 10.],
                          [20., 0., 30., 10.], [24., 0., 34., 10.]])
    # class 0 sees boxes 0, 1; class 1 sees boxes 2, 3
    scores = [[.9, 0.], [.8, 0.], [0., .7], [0., .6]]
    b, s, lab = _run(scores, boxes)
    assert lab.tolist() == [0, 1, 1]
    assert torch.equal(b, boxes[[0, 2, 3]])
    assert s.tolist() == pytest.approx([.9, .7, .6])


def test_score_threshold_is_strict():
    """0.01 itself is dropped (scores > 0.01), 0.0101 kept."""
    boxes = torch.tensor([[0., 0., 10., 10.], [50., 0., 60., 10.]])
    b, s, lab = _run([[0.01], [0.0101]], boxes)
    assert torch.equal(b, boxes[1:]) and lab.tolist() == [0]


def test_top_k_per_class_is_taken_before_nms():
    """Class 0: five boxes scored .9 .8 .7 .6 .5; box 1 overlaps box 0
    (IoU 0.818, suppressed), boxes 2-4 are disjoint. With the top 3 before
    NMS only boxes 0 and 2 survive: 3 and 4 never reach NMS, although
    suppressing box 1 left room. With the top 5: boxes 0, 2, 3, 4."""
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 0., 11., 10.],
                          [20., 0., 30., 10.], [40., 0., 50., 10.],
                          [60., 0., 70., 10.]])
    scores = [[.9], [.8], [.7], [.6], [.5]]
    b, _, _ = _run(scores, boxes, nms_pre_per_class=3)
    assert torch.equal(b, boxes[[0, 2]])
    b, _, _ = _run(scores, boxes, nms_pre_per_class=5)
    assert torch.equal(b, boxes[[0, 2, 3, 4]])


def test_600_candidates_of_one_class_keep_the_top_400_then_50():
    """600 disjoint boxes of one class: only the 400 best reach NMS, none is
    suppressed, 50 are kept: the 50 best, in score order."""
    n = 600
    xy = torch.arange(n, dtype=torch.float32)[:, None] * 20
    boxes = torch.cat([xy, xy * 0, xy + 10, xy * 0 + 10], 1)
    scores = torch.linspace(0.9, 0.02, n)[:, None]
    b, s, _ = _run(scores, boxes)
    assert torch.equal(b, boxes[:50]) and torch.equal(s, scores[:50, 0])


def test_50_per_class_before_200_per_image():
    """5 classes on 60 disjoint boxes; class c scores box k 0.9 - 0.1 c -
    0.001 k. Per class the 50 best (k < 50) are kept; of those 250 the 200
    best are classes 0-3 (each above 0.54) and none of class 4 (at most
    0.5) - although class 0-3's boxes k = 50..59 (>= 0.541) outscore all of
    class 4, the per-class cap removed them first."""
    n = 60
    xy = torch.arange(n, dtype=torch.float32)[:, None] * 20
    boxes = torch.cat([xy, xy * 0, xy + 10, xy * 0 + 10], 1)
    k = torch.arange(n, dtype=torch.float32)[:, None]
    c = torch.arange(5, dtype=torch.float32)[None]
    scores = 0.9 - 0.1 * c - 0.001 * k
    b, s, lab = _run(scores, boxes)
    assert len(s) == 200
    assert torch.bincount(lab, minlength=5).tolist() == [50, 50, 50, 50, 0]
    for cls in range(4):
        assert torch.equal(b[lab == cls], boxes[:50])
    assert torch.all(s[:-1] >= s[1:])


def test_head_softmax_decode_and_rescale_by_hand():
    """BlitzNetDetHead.predict_by_feat on one 1 x 1 level (input 100 x 100,
    scale 0.5, no aspect ratios: anchors [25, 25, 75, 75] and the square
    sqrt(0.5 * 1.0) = 70.71 px on the same centre), C = 2.

    Anchor 0 logits (ln 6, 0, ln 3): softmax 0.6, 0.1 and background 0.3;
    zero deltas, so its boxes are the anchor. Anchor 1 logits (0, 0, 10):
    background, scores 4.5e-5 < 0.01, dropped. With scale_factor (w, h) =
    (0.5, 0.25) the boxes in original pixels are the anchor / (0.5, 0.25).
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import blitznet_mm  # noqa: F401
    register_all_modules()
    base = Config.fromfile(config_path('_base_/models/blitznet300.py')).model
    head = MODELS.build(
        dict(
            base.bbox_head,
            num_classes=2,
            in_channels=(8, ),
            anchor_generator=dict(
                type='BlitzNetAnchorGenerator', scales=(0.5, ), ratios=()),
            test_cfg=base.test_cfg))
    logits = torch.tensor([math.log(6), 0., math.log(3), 0., 0., 10.])
    meta = dict(
        img_shape=(100, 100),
        batch_input_shape=(100, 100),
        pad_shape=(100, 100),
        ori_shape=(400, 200),
        scale_factor=(0.5, 0.25))
    out = head.predict_by_feat([logits.view(1, 6, 1, 1)],
                               [torch.zeros(1, 8, 1, 1)],
                               batch_img_metas=[meta],
                               rescale=True)[0]
    assert out.labels.tolist() == [0, 1]
    assert out.scores.tolist() == pytest.approx([0.6, 0.1], rel=1e-6)
    expect = torch.tensor([[50., 100., 150., 300.]] * 2)
    assert torch.allclose(out.bboxes, expect, atol=1e-4)
    # in input pixels without rescale
    out = head.predict_by_feat([logits.view(1, 6, 1, 1)],
                               [torch.zeros(1, 8, 1, 1)],
                               batch_img_metas=[meta],
                               rescale=False)[0]
    assert torch.allclose(
        out.bboxes, torch.tensor([[25., 25., 75., 75.]] * 2), atol=1e-4)
