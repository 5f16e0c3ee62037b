"""Segmentation loss of BlitzNetSegHead against numbers derived independently
(paper Sec. 3.4; authors' code): pixel cross-entropy at the logits' stride,
on the mask sampled at the nearest pixel, averaged over the non-ignored
pixels of the batch.

The head is the shipped one with its weights set so that its logits are its
(non-negative) input: 1x1 reduction = identity, ReLU, 3x3 classifier =
identity at the centre tap (CE is shift invariant, so non-negative logits
lose nothing).
"""
import copy
import math

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import PixelData

from blitznet_mm.testing import ssd_reference as ref
from blitznet_mm.testing.builders import coco_mini_dataset, load_cfg


def _identity_head(k):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    head = MODELS.build(
        dict(
            type='BlitzNetSegHead',
            num_classes=k - 1,
            in_channels=(k, ),
            channels=k))
    with torch.no_grad():
        conv = head.reduce[0].conv
        conv.weight.zero_()
        conv.weight[:, :, 0, 0] = torch.eye(k)
        conv.bias.zero_()
        head.cls_seg.weight.zero_()
        head.cls_seg.weight[:, :, 1, 1] = torch.eye(k)
        head.cls_seg.bias.zero_()
    return head


def _sample(mask, size):
    from mmdet.structures import DetDataSample
    ds = DetDataSample(metainfo=dict(batch_input_shape=size))
    if mask is not None:
        ds.gt_sem_seg = PixelData(sem_seg=torch.tensor(mask)[None])
    return ds


def test_loss_at_the_logits_stride_worked_out_on_paper():
    """Logits 2 x 2 from a 4 x 4 mask: logit (i, j) reads mask pixel
    (2i, 2j). Three classes; logits (0, ln 3, 0), probabilities (1/5, 3/5,
    1/5), everywhere but logit (1, 1): (ln 8, 0, 0), probabilities (8/10,
    1/10, 1/10).

    Image 0: mask pixels (0, 0) = 1, (0, 2) = 0, (2, 0) = 255, (2, 2) = 2,
    the other 12 pixels 255: CE ln(5/3), ln 5, ignored, ln 10. Image 1 has
    no mask (all ignored, never background). Loss: the mean over the 3
    counted pixels, (ln(5/3) + ln 5 + ln 10) / 3.
    """
    head = _identity_head(3)
    mask = np.full((4, 4), 255, np.int64)
    mask[0, 0], mask[0, 2], mask[2, 0], mask[2, 2] = 1, 0, 255, 2
    x = torch.zeros(2, 3, 2, 2)
    x[:, 1] = math.log(3)
    x[0, :, 1, 1] = torch.tensor([math.log(8), 0., 0.])
    loss = head.loss((x, ), [_sample(mask, (4, 4)), _sample(None, (4, 4))])
    expect = (math.log(5 / 3) + math.log(5) + math.log(10)) / 3
    assert loss['loss_seg'].item() == pytest.approx(expect, rel=1e-6)
    # an odd pixel label moved off the sampled grid changes nothing
    mask[1, 1] = mask[3, 3] = 1
    loss2 = head.loss((x, ), [_sample(mask, (4, 4)), _sample(None, (4, 4))])
    assert loss2['loss_seg'].item() == pytest.approx(expect, rel=1e-6)


def test_real_masks_equal_the_float64_reference(coco_mini):
    """Three real 300 x 300 images (one boxes-only: all 255; one with an
    ignored band) through the shipped data preprocessor, seeded logits at
    stride 4 (75 x 75): the CE over the mask sampled at rows/columns 4i, 4j,
    non-ignored pixels only."""
    with_mask = coco_mini_dataset(coco_mini, with_sem_seg=True)
    no_mask = coco_mini_dataset(coco_mini, with_sem_seg=False)
    batch = pseudo_collate([with_mask[0], no_mask[1], with_mask[2]])
    from mmdet.registry import MODELS
    preprocessor = MODELS.build(
        load_cfg('blitznet300_coco.py').model.data_preprocessor)
    data = preprocessor(copy.deepcopy(batch), True)
    samples = data['data_samples']
    # COCO masks have no void: make a band of image 0 ignored, off the
    # stride-4 grid's phase (rows 1..101)
    samples[0].gt_sem_seg.sem_seg[:, 1:102] = 255
    gt = torch.stack([s.gt_sem_seg.sem_seg[0] for s in samples]).numpy()
    assert gt.shape == (3, 300, 300) and (gt[1] == 255).all()
    assert (gt[0] != 255).any() and (gt[0] == 255).any()
    head = _identity_head(81)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 81, 75, 75, generator=g) * 6
    loss = head.loss((x, ), samples)['loss_seg'].item()
    want = ref.seg_loss(x.numpy(), gt.astype(np.int64))
    assert loss == pytest.approx(want, rel=1e-5)
    # not the loss at the input's size, nor over every sampled pixel
    assert abs(
        want -
        ref.seg_loss(x.numpy(),
                     np.where(gt == 255, 0, gt).astype(np.int64))) > 1e-3
