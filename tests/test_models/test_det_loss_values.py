"""Detection targets and losses of BlitzNetDetHead against numbers derived
independently (paper Sec. 3.2-3.4; SSD, Liu et al. 2016, Sec. 2.2):

- a case worked out on paper: 32 anchors on a 4 x 4 map, 5 boxes, logits
  chosen so that every cross-entropy has a closed form;
- the real images of data/samples at 300 x 300 with all 45,390 anchors of
  BlitzNet300 s4 against the float64 reference of
  ``blitznet_mm.testing.ssd_reference``.

The head runs with the shipped ``train_cfg`` (configs/_base_/models/
blitznet300.py): MaxIoU 0.5, each box's best anchor, variances
(0.1, 0.1, 0.2, 0.2), 3:1 mining.
"""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from blitznet_mm.testing import ssd_reference as ref
from blitznet_mm.testing.builders import coco_mini_dataset, config_path


def _head(num_classes, in_channels, scales, ratios, mining):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import blitznet_mm  # noqa: F401
    register_all_modules()
    base = Config.fromfile(config_path('_base_/models/blitznet300.py')).model
    train_cfg = dict(base.train_cfg, hard_negative_mining=mining)
    return MODELS.build(
        dict(
            base.bbox_head,
            num_classes=num_classes,
            in_channels=in_channels,
            anchor_generator=dict(
                type='BlitzNetAnchorGenerator', scales=scales, ratios=ratios),
            train_cfg=train_cfg,
            test_cfg=base.test_cfg))


def _maps(per_anchor, m, a):
    """(N, m*m*a, K) per-anchor values -> one level's head map
    (N, a*K, m, m): anchor (i*m + j)*a + t, channel t*K + k (mmdet's)."""
    n, _, k = per_anchor.shape
    return per_anchor.reshape(n, m, m, a * k).permute(0, 3, 1, 2)


def _metas(n, size):
    return [
        dict(
            img_shape=(size, size),
            pad_shape=(size, size),
            batch_input_shape=(size, size)) for _ in range(n)
    ]


def _gt(boxes, labels):
    g = InstanceData()
    g.bboxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    g.labels = torch.tensor(labels, dtype=torch.long)
    return g


# --- the case on paper ----------------------------------------------------
# Input 100 x 100, one level of 4 x 4, scale 0.25, no aspect ratios: per
# location (i, j) a 25 px square (anchor 2(4i + j), the cell
# [25j, 25i, 25j + 25, 25i + 25]) and a 50 px square sqrt(0.25 * 1.0)
# (anchor 2(4i + j) + 1) on the same centre. C = 4 classes, background 4.
#
# image 0
#   A = [25, 25, 50, 50], class 1: the 25 px cell (1, 1), anchor 10, IoU 1
#     (its 50 px square: 625 / 2500 = 0.25).
#   B = [50, 0, 95, 30], class 2: best anchor the cell (0, 2) = [50, 0, 75,
#     25], 625 / 1350 = 0.463 < 0.5 (the 50 px square there: 1125 / 2725 =
#     0.413; cell (0, 3): 500 / 1475 = 0.339), so anchor 4 is positive only
#     as B's best anchor. Deltas from (62.5, 12.5, 25, 25) to (72.5, 15, 45,
#     30): (10/25 / .1, 2.5/25 / .1, ln 1.8 / .2, ln 1.2 / .2).
# image 1
#   C = [0, 50, 50, 75], class 3: the cells (2, 0) and (2, 1) have IoU
#     625 / 1250 = 0.5 exactly (>= 0.5: both positive, anchors 16 and 18);
#     the 50 px squares there 937.5 / 2812.5 = 0.333. Deltas (+-12.5/25 / .1,
#     0, ln 2 / .2, 0).
#   D = [40, 40, 90, 80], class 0: the 50 px square of (2, 2), [37.5, 37.5,
#     87.5, 87.5], anchor 21: 1900 / 2600 = 0.731 (next best 0.324). Deltas
#     from (62.5, 62.5, 50, 50) to (65, 60, 50, 40): (.5, -.5, 0,
#     ln .8 / .2).
# image 2: no boxes (a masks-only image).
BOXES = [([[25, 25, 50, 50], [50, 0, 95, 30]], [1, 2]),
         ([[0, 50, 50, 75], [40, 40, 90, 80]], [3, 0]), ([], [])]
POSITIVES = [{
    10: (1, (0., 0., 0., 0.)),
    4: (2, (4., 1., math.log(1.8) / .2, math.log(1.2) / .2))
}, {
    16: (3, (5., 0., math.log(2) / .2, 0.)),
    18: (3, (-5., 0., math.log(2) / .2, 0.)),
    21: (0, (.5, -.5, 0., math.log(.8) / .2))
}, {}]
# logits: all 0 but class 0's, h = 0.1 a (image 0), 3 + 0.1 a (image 1),
# 10 + 0.1 a (image 2): CE = ln(e^h + 4) - (h if the label is 0 else 0), and
# a negative's CE grows with its index a and its image
OFFSET = (0., 3., 10.)


def _hardness(n, a):
    return OFFSET[n] + 0.1 * a


def _ce(n, a, label):
    h = _hardness(n, a)
    return math.log(math.exp(h) + 4) - (h if label == 0 else 0.)


def _smooth_l1(x):
    return 0.5 * x * x if abs(x) < 1 else abs(x) - 0.5


def _paper_inputs():
    z = torch.zeros(3, 32, 5)
    for n in range(3):
        z[n, :, 0] = torch.tensor([_hardness(n, a) for a in range(32)])
    deltas = torch.ones(3, 32, 4)  # every anchor predicts (1, 1, 1, 1)
    gts = [_gt(b, lab) for b, lab in BOXES]
    return [_maps(z, 4, 2)], [_maps(deltas, 4, 2)], gts


def test_matching_and_deltas_worked_out_on_paper():
    head = _head(4, (8, ), (0.25, ), (), 'batch')
    cls, box, gts = _paper_inputs()
    anchors, valid = head.get_anchors([(4, 4)], _metas(3, 100), 'cpu')
    # the anchors themselves: cell (1, 1) and its 50 px square
    assert anchors[0][0][10].tolist() == [25., 25., 50., 50.]
    assert anchors[0][0][11].tolist() == [12.5, 12.5, 62.5, 62.5]
    # per level (N, A_l, ...); one level here
    (labels, ), _, (targets, ), (weights, ), _ = head.get_targets(
        anchors, valid, gts, _metas(3, 100), unmap_outputs=True)
    for n in range(3):
        expect = torch.full((32, ), 4)
        for a, (c, _) in POSITIVES[n].items():
            expect[a] = c
        assert labels[n].tolist() == expect.tolist(), n
        for a in range(32):
            if a in POSITIVES[n]:
                np.testing.assert_allclose(
                    targets[n][a].numpy(), POSITIVES[n][a][1], atol=1e-5)
                assert weights[n][a].tolist() == [1.] * 4
            else:
                assert weights[n][a].tolist() == [0.] * 4


@pytest.mark.parametrize('mining', ['image', 'batch'])
def test_losses_worked_out_on_paper(mining):
    head = _head(4, (8, ), (0.25, ), (), mining)
    cls, box, gts = _paper_inputs()
    losses = head.loss_by_feat(cls, box, gts, _metas(3, 100))
    pos = sum(
        _ce(n, a, c) for n in range(3) for a, (c, _) in POSITIVES[n].items())
    if mining == 'image':
        # 3 x 2 hardest of image 0 (anchors 26..31), 3 x 3 of image 1
        # (23..31, none positive), none in image 2 (no positives)
        neg = sum(_ce(0, a, 4) for a in range(26, 32)) + \
            sum(_ce(1, a, 4) for a in range(23, 32))
    else:
        # 3 x 5 hardest of the batch: all in image 1 (h >= 3), skipping its
        # positives 16, 18, 21; image 2 (h >= 10) lends none: it has no box
        chosen = [31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 20, 19, 17, 15, 14]
        neg = sum(_ce(1, a, 4) for a in chosen)
    assert losses['loss_cls'].item() == pytest.approx(
        (pos + neg) / 5, rel=1e-6)
    # predictions (1, 1, 1, 1) against the positives' targets; negatives
    # would add 4 x 0.5 each
    box_sum = sum(
        _smooth_l1(1. - t) for n in range(3)
        for _, ts in POSITIVES[n].values() for t in ts)
    assert losses['loss_bbox'].item() == pytest.approx(box_sum / 5, rel=1e-6)


def test_reference_agrees_with_the_paper_case():
    """The float64 reference used on the real images below gives the paper
    case's numbers too (so it is checked by hand as well)."""
    anchors = ref.anchors(100, [4], [0.25], ratios=())
    z = np.zeros((3, 32, 5))
    for n in range(3):
        z[n, :, 0] = [_hardness(n, a) for a in range(32)]
    gts = [(np.array(b, float).reshape(-1, 4), np.array(lab, int))
           for b, lab in BOXES]
    for mining in (True, False):
        out = ref.ssd_losses(z, np.ones((3, 32, 4)), anchors, gts, mining)
        for n in range(3):
            assert set(np.flatnonzero(out['assigned'][n] >= 0)) == set(
                POSITIVES[n])
    head = _head(4, (8, ), (0.25, ), (), 'batch')
    cls, box, tgts = _paper_inputs()
    got = head.loss_by_feat(cls, box, tgts, _metas(3, 100))
    assert got['loss_cls'].item() == pytest.approx(out['loss_cls'], rel=1e-6)
    assert got['loss_bbox'].item() == pytest.approx(out['loss_bbox'], rel=1e-6)


# --- the real images --------------------------------------------------------

MAPS = (75, 38, 19, 10, 5, 3, 1)
SCALES = (.04, .10, .27, .44, .61, .78, .95)


@pytest.fixture(scope='module')
def real_batch(coco_mini):
    """Boxes of 3 real images resized to 300 x 300, the third emptied (a
    masks-only image), and seeded random head outputs of BlitzNet300 s4."""
    ds = coco_mini_dataset(coco_mini)
    gts = [ds[i]['data_samples'].gt_instances for i in (0, 3, 5)]
    gts = [_gt(g.bboxes.tensor.tolist(), g.labels.tolist()) for g in gts]
    gts[2] = gts[2][:0]
    g = torch.Generator().manual_seed(0)
    cls = [torch.randn(3, 6 * 81, m, m, generator=g) * 2 for m in MAPS]
    box = [torch.randn(3, 6 * 4, m, m, generator=g) for m in MAPS]
    return cls, box, gts


def _flat(maps, k):
    """Head maps -> (N, A, k) in float64, written out for the reference:
    anchor (level, i, j, t), channel t*k + c."""
    out = []
    for m in maps:
        n, _, h, w = m.shape
        out.append(m.double().numpy().reshape(n, -1, k, h, w).transpose(
            0, 3, 4, 1, 2).reshape(n, -1, k))
    return np.concatenate(out, 1)


@pytest.mark.parametrize('mining', ['image', 'batch'])
def test_real_images_equal_the_float64_reference(real_batch, mining):
    cls, box, gts = real_batch
    head = _head(80, (8, ) * 7, SCALES, (2, 3), mining)
    anchors = ref.anchors(300, MAPS, SCALES)
    assert len(anchors) == 45390
    got_anchors = torch.cat(
        head.get_anchors([(m, m) for m in MAPS], _metas(1, 300), 'cpu')[0][0])
    np.testing.assert_allclose(got_anchors.numpy(), anchors, atol=1e-3)
    want = ref.ssd_losses(
        _flat(cls, 81),
        _flat(box, 4),
        anchors, [(g.bboxes.double().numpy(), g.labels.numpy()) for g in gts],
        per_image=mining == 'image')
    n_pos = sum(int((a >= 0).sum()) for a in want['assigned'])
    n_gt = sum(len(g) for g in gts)
    # real boxes: some anchors match at IoU >= 0.5 beyond each box's best
    assert n_pos > n_gt > 0
    anchor_list, valid = head.get_anchors([(m, m) for m in MAPS],
                                          _metas(3, 300), 'cpu')
    labels = torch.cat(
        head.get_targets(
            anchor_list, valid, gts, _metas(3, 300), unmap_outputs=True)[0], 1)
    for n in range(3):
        np.testing.assert_array_equal(labels[n].numpy(), want['labels'][n])
    losses = head.loss_by_feat(cls, box, gts, _metas(3, 300))
    assert losses['loss_cls'].item() == pytest.approx(
        want['loss_cls'], rel=1e-5)
    assert losses['loss_bbox'].item() == pytest.approx(
        want['loss_bbox'], rel=1e-5)
