"""IoU-Net on BlitzNet's detection head (Jiang et al., ECCV 2018): the
IoU-guided NMS (Algorithm 1) on hand-built boxes and against a literal
transcription of the algorithm, the IoU target, the IoU loss, the standard
NMS left unchanged, and export."""
import math
import random

import pytest
import torch
from mmengine.structures import InstanceData

from blitznet_mm.models.heads import (BlitzNetDetHead, IoUNetDetHead,
                                      iou_guided_nms, per_class_iou_guided_nms,
                                      predicted_box_iou)
from blitznet_mm.models.heads.iou_guided_nms import nms_type
from blitznet_mm.testing.builders import build_model, quiet_init_weights


def box_iou(a, b):
    """IoU of two (x1, y1, x2, y2) boxes, written out."""
    iw = max(0., min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0., min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def algorithm1(boxes, scores, ious, thr):
    """IoU-Net's Algorithm 1 as printed: [(kept index, its score)]."""
    remaining = list(range(len(boxes)))
    out = []
    while remaining:
        m = max(remaining, key=lambda i: ious[i])
        remaining.remove(m)
        s = scores[m]
        for j in list(remaining):
            if box_iou(boxes[m], boxes[j]) > thr:
                s = max(s, scores[j])
                remaining.remove(j)
        out.append((m, s))
    return out


def _t(rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_best_localised_box_survives_with_the_cluster_best_score():
    # A and B overlap (IoU 90 / 110 = 0.82); C is apart. Standard NMS keeps
    # A (class score 0.9); IoU-guided NMS keeps B (predicted IoU 0.9), which
    # takes A's 0.9; C keeps its own 0.5.
    boxes = _t([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]])
    scores = _t([0.9, 0.7, 0.5])
    ious = _t([0.6, 0.9, 0.8])
    keep, s = iou_guided_nms(boxes, scores, ious, 0.45)
    assert keep.tolist() == [1, 2]  # by descending predicted IoU
    assert s.tolist() == pytest.approx([0.9, 0.5])


def test_a_suppressed_box_suppresses_nothing():
    # A-B: IoU 80 / 120 = 0.67, B-C: 0.67, A-C: 60 / 140 = 0.43 < 0.45.
    # A (IoU 0.9) removes B and takes B's 0.8; C is not removed by the
    # removed B and stays with its 0.6.
    boxes = _t([[0, 0, 10, 10], [2, 0, 12, 10], [4, 0, 14, 10]])
    scores = _t([0.3, 0.8, 0.6])
    ious = _t([0.9, 0.8, 0.7])
    keep, s = iou_guided_nms(boxes, scores, ious, 0.45)
    assert keep.tolist() == [0, 2]
    assert s.tolist() == pytest.approx([0.8, 0.6])


def test_threshold_is_strict():
    # IoU exactly 0.5: not suppressed at threshold 0.5, suppressed at 0.49
    boxes = _t([[0, 0, 10, 10], [0, 0, 10, 20]])
    scores, ious = _t([0.2, 0.7]), _t([0.9, 0.1])
    assert iou_guided_nms(boxes, scores, ious, 0.5)[0].tolist() == [0, 1]
    keep, s = iou_guided_nms(boxes, scores, ious, 0.49)
    assert keep.tolist() == [0] and s.tolist() == pytest.approx([0.7])


def test_per_class_shares_the_anchor_iou_and_thresholds_class_scores():
    # two anchors decoding to A, B (IoU 0.82); predicted IoU A 0.5, B 0.8.
    # class 0: B kept, takes A's 0.9. class 1: A's 0.005 is under the 0.01
    # threshold, so B alone, 0.5. Standard NMS would keep A in class 0.
    boxes = _t([[0, 0, 10, 10], [1, 0, 11, 10]])
    scores = _t([[0.9, 0.005], [0.6, 0.5]])
    b, s, lab = per_class_iou_guided_nms(scores, _t([0.5, 0.8]),
                                         lambda i: boxes[i])
    assert lab.tolist() == [0, 1]
    assert s.tolist() == pytest.approx([0.9, 0.5])
    assert torch.equal(b, boxes[[1, 1]])


def test_matches_algorithm1_on_random_clusters():
    rng = random.Random(0)
    thr = 0.45
    for trial in range(5):
        boxes, n = [], 60
        for _ in range(n):
            cx, cy = rng.choice([(20, 20), (40, 25), (60, 60), (25, 70)])
            cx, cy = cx + rng.uniform(-6, 6), cy + rng.uniform(-6, 6)
            w, h = rng.uniform(8, 20), rng.uniform(8, 20)
            boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        scores = [rng.random() for _ in range(n)]
        ious = rng.sample(range(1000), n)  # distinct ranks, no ties
        ious = [i / 1000 for i in ious]
        ref = algorithm1(boxes, scores, ious, thr)
        keep, s = iou_guided_nms(_t(boxes), _t(scores), _t(ious), thr)
        assert keep.tolist() == [m for m, _ in ref], trial
        assert s.tolist() == pytest.approx([v for _, v in ref]), trial


def test_nms_type_is_checked():
    assert nms_type(None) == 'nms'
    assert nms_type(dict(nms_pre_per_class=4,
                         nms=dict(type='iou_guided'))) == 'iou_guided'
    with pytest.raises(ValueError, match="one of \\('nms', 'iou_guided'\\)"):
        nms_type(dict(nms=dict(type='soft_nms')))
    with pytest.raises(ValueError, match='needs test_cfg.nms_pre_per_class'):
        nms_type(dict(nms=dict(type='iou_guided')))


def test_iou_target_of_hand_built_anchor_and_boxes():
    from mmdet.registry import TASK_UTILS
    from mmdet.utils import register_all_modules
    register_all_modules()
    coder = TASK_UTILS.build(
        dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0.] * 4,
            target_stds=[0.1, 0.1, 0.2, 0.2]))
    anchors = _t([[0, 0, 10, 10], [0, 0, 10, 10]])
    gts = _t([[0, 0, 10, 20], [0, 0, 10, 10]])
    targets = coder.encode(anchors, gts)
    # 1: zero deltas, the anchor itself against a box twice as tall: 1/2.
    # 2: dx = 1 -> x + 1 * 0.1 * 10 px = the anchor moved 1 px right:
    #    overlap 9 x 10 over 100 + 100 - 90, 9/11.
    deltas = _t([[0, 0, 0, 0], [1, 0, 0, 0]])
    got = predicted_box_iou(anchors, deltas, targets, coder)
    assert got.tolist() == pytest.approx([0.5, 9 / 11], abs=1e-5)


TRAIN_CFG = dict(
    assigner=dict(
        type='MaxIoUAssigner',
        pos_iou_thr=0.5,
        neg_iou_thr=0.5,
        min_pos_iou=0.,
        ignore_iof_thr=-1,
        gt_max_assign_all=False),
    sampler=dict(type='PseudoSampler'),
    allowed_border=-1,
    pos_weight=-1,
    neg_pos_ratio=3,
    hard_negative_mining='image')
SIZE = 64
META = dict(
    img_shape=(SIZE, SIZE),
    pad_shape=(SIZE, SIZE),
    batch_input_shape=(SIZE, SIZE),
    scale_factor=(1., 1.))
GT_BOX = [10., 12., 40., 44.]


def _head(cls=IoUNetDetHead, nms='nms'):
    from mmdet.utils import register_all_modules
    register_all_modules()
    test_cfg = dict(
        score_thr=0.01,
        nms_pre_per_class=400,
        max_per_class=50,
        max_per_img=200,
        nms=dict(type=nms, iou_threshold=0.45))
    head = cls(
        num_classes=3,
        in_channels=(8, 8),
        anchor_generator=dict(
            type='BlitzNetAnchorGenerator', scales=(0.2, 0.5)),
        train_cfg=TRAIN_CFG,
        test_cfg=test_cfg)
    return quiet_init_weights(head)


def _feats(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 8, 8, 8,
                        generator=g), torch.randn(2, 8, 4, 4, generator=g))


def _gts():
    """Image 0: one box; image 1: none (a masks-only image)."""
    return [
        InstanceData(bboxes=_t([GT_BOX]), labels=torch.tensor([1])),
        InstanceData(
            bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    ]


def test_forward_packs_box_deltas_then_ious():
    head = _head()
    cls, box_iou = head(_feats())
    assert [t.shape[1] for t in box_iou] == [6 * 5, 6 * 5]
    ref = BlitzNetDetHead.forward(head, _feats())[1]
    for packed, plain in zip(box_iou, ref):
        assert torch.equal(packed[:, :24], plain)


def test_iou_loss_is_bce_on_the_positives_iou_per_positive():
    """Box convs at zero: every predicted box is its anchor, so the target
    of a positive is its anchor's IoU with the ground truth; IoU logits
    fixed at b. BCE with logits: softplus(b) - t b, averaged over the
    positives (the image without boxes adds none)."""
    head = _head()
    b = 0.3
    with torch.no_grad():
        for conv in head.reg_convs:
            conv[0].weight.zero_(), conv[0].bias.zero_()
        for conv in head.iou_convs:
            conv.weight.zero_(), conv.bias.fill_(b)
    feats = _feats()
    cls, packed = head(feats)
    losses = head.loss_by_feat(cls, packed, _gts(), [META, META])
    anchors = head.dense_priors((SIZE, SIZE), [(8, 8), (4, 4)])
    t = torch.tensor([box_iou(a, GT_BOX) for a in anchors.tolist()])
    pos = (t >= 0.5)
    pos[t.argmax()] = True  # min_pos_iou=0: the gt's best anchor
    expected = (math.log1p(math.exp(b)) - t[pos] * b).mean()
    assert losses['loss_iou'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_iou'}


def test_cls_and_box_losses_are_blitznets_and_iou_trains_only_its_convs():
    torch.manual_seed(0)
    head = _head()
    plain = _head(BlitzNetDetHead)
    plain.load_state_dict(head.state_dict(), strict=False)
    feats = _feats(1)
    cls, box_iou = head(feats)
    losses = head.loss_by_feat(cls, box_iou, _gts(), [META, META])
    ref = plain.loss_by_feat(*plain(feats), _gts(), [META, META])
    for k in ('loss_cls', 'loss_bbox'):
        assert torch.allclose(losses[k], ref[k]), k
    losses['loss_iou'].backward()
    # the box part of the packed maps gets zeros through the concatenation
    for convs in (head.reg_convs, head.cls_convs):
        assert all(p.grad is None or not p.grad.any()
                   for p in convs.parameters())
    assert sum(c.weight.grad.abs().sum() for c in head.iou_convs) > 0


def test_no_boxes_gives_zero_iou_loss():
    head = _head()
    cls, box_iou = head(tuple(f[1:] for f in _feats()))
    losses = head.loss_by_feat(cls, box_iou, _gts()[1:], [META])
    assert losses['loss_iou'].item() == 0.0


def test_standard_nms_is_unchanged_and_iou_guided_follows_algorithm1():
    torch.manual_seed(0)
    head = _head()
    with torch.no_grad():  # peaked class scores, varied predicted IoUs
        for conv in head.cls_convs:
            conv[0].weight.normal_(0, 0.5)
        for conv in head.iou_convs:
            conv.weight.normal_(0, 0.5)
    plain = _head(BlitzNetDetHead)
    plain.load_state_dict(head.state_dict(), strict=False)
    feats = tuple(f[:1] for f in _feats(2))
    cls, box_iou = head(feats)
    got = head.predict_by_feat(cls, box_iou, batch_img_metas=[META])[0]
    ref = plain.predict_by_feat(*plain(feats), batch_img_metas=[META])[0]
    assert torch.equal(got.bboxes, ref.bboxes)
    assert torch.equal(got.scores, ref.scores)

    guided = _head(nms='iou_guided')
    guided.load_state_dict(head.state_dict())
    out = guided.predict_by_feat(cls, box_iou, batch_img_metas=[META])[0]
    # the reference: per level (1, A*K, H, W) -> rows (y, x, anchor)
    a = 6
    probs = torch.cat([c[0].permute(1, 2, 0).reshape(-1, 4)
                       for c in cls]).softmax(-1)[:, :3]
    ious = torch.cat([
        p[0, 4 * a:].permute(1, 2, 0).reshape(-1) for p in box_iou
    ]).sigmoid()
    deltas = torch.cat(
        [p[0, :4 * a].permute(1, 2, 0).reshape(-1, 4) for p in box_iou])
    priors = head.dense_priors((SIZE, SIZE), [(8, 8), (4, 4)])
    boxes = head.bbox_coder.decode(priors, deltas, max_shape=(SIZE, SIZE))
    expected = []
    for c in range(3):
        idx = (probs[:, c] > 0.01).nonzero().squeeze(1).tolist()
        idx = sorted(idx, key=lambda i: -probs[i, c])[:400]
        kept = algorithm1([boxes[i].tolist() for i in idx],
                          [probs[i, c].item() for i in idx],
                          [ious[i].item() for i in idx], 0.45)
        expected += sorted([(s, c) for _, s in kept], reverse=True)[:50]
    expected = sorted(expected, reverse=True)[:200]
    assert len(out) == len(expected) > 10
    assert out.scores.tolist() == pytest.approx([s for s, _ in expected])
    assert sorted(out.labels.tolist()) == sorted(c for _, c in expected)


@pytest.mark.slow
def test_iou_config_exports_with_standard_nms_and_refuses_iou_guided(tmp_path):
    from blitznet_mm.deployment import BackendSession, ExportGraph, export_onnx
    model = build_model('blitznet300_iou_voc.py').eval()
    assert type(model.bbox_head).__name__ == 'IoUNetDetHead'
    assert nms_type(model.bbox_head.test_cfg) == 'iou_guided'
    msg = "IoUNetDetHead with test_cfg.nms.type='iou_guided' cannot be"
    with pytest.raises(NotImplementedError, match=msg):
        ExportGraph(model, (300, 300))  # before any tracing
    model.bbox_head.test_cfg.nms = dict(type='nms', iou_threshold=0.45)
    graph = ExportGraph(model, (300, 300))
    x = torch.randn(1, 3, 300, 300) * 50
    model.bbox_head.test_cfg.nms = dict(type='iou_guided', iou_threshold=0.45)
    with pytest.raises(NotImplementedError, match=msg):
        graph(x)  # the graph's end refuses too
    model.bbox_head.test_cfg.nms = dict(type='nms', iou_threshold=0.45)
    with torch.no_grad():
        scores, boxes, seg = graph(x)
        cls, box_iou = model.bbox_head(model.extract_feat(x))
    # the default head's graph: the box part of the packed maps
    ref = BlitzNetDetHead.predict_dense(model.bbox_head, cls,
                                        [p[:, :24] for p in box_iou],
                                        graph.priors, (300, 300))
    assert torch.equal(scores, ref[0]) and torch.equal(boxes, ref[1])
    from blitznet_mm.deployment.export import onnx_export_unavailable
    if onnx_export_unavailable():  # torch < 2.5; the refusals above held
        pytest.skip(onnx_export_unavailable())
    path = export_onnx(
        graph,
        str(tmp_path / 'iou.onnx'),
        dict(classes=[str(i) for i in range(20)]),
        batch=1)
    outs = BackendSession(path)(x.numpy())
    assert [o.shape for o in outs] == [(1, 45390, 20), (1, 45390, 4),
                                       (1, 21, 75, 75)]
    assert (torch.from_numpy(outs[1]) - boxes).abs().max() < 0.05
