"""BiSeNet's segmentation design (Yu et al., ECCV 2018) as BlitzNet's
segmentation branch: mmseg's own ARM / FFM, the spatial and context paths
on the neck levels, BlitzNet's mixed-annotation loss."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.dataset import pseudo_collate
from mmengine.structures import PixelData

from blitznet_mm.models.heads import BiSeNetSegHead
from blitznet_mm.testing.builders import (build_model, coco_mini_dataset,
                                          quiet_init_weights)

# BlitzNet300 s4's neck levels: 75 38 19 10 5 3 1, 512 channels
SIDES = (75, 38, 19, 10, 5, 3, 1)


def _levels(seed=0, channels=16):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(2, channels, s, s, generator=g) for s in SIDES)


def _head(**kw):
    head = BiSeNetSegHead(
        num_classes=4,
        in_channels=(16, ) * 7,
        spatial_channels=(8, 8, 16),
        context_channels=16,
        fusion_channels=32,
        channels=32,
        dropout_ratio=0.,
        **kw)
    return quiet_init_weights(head).eval()


def test_uses_mmsegs_modules_and_bisenets_spatial_path():
    from mmseg.models.backbones.bisenetv1 import (AttentionRefinementModule,
                                                  FeatureFusionModule)
    head = _head()
    assert isinstance(head.arm16, AttentionRefinementModule)
    assert isinstance(head.arm32, AttentionRefinementModule)
    assert isinstance(head.ffm, FeatureFusionModule)
    convs = list(head.spatial_path)
    assert [(c.conv.kernel_size, c.conv.stride)
            for c in convs] == [((3, 3), (2, 2)), ((3, 3), (1, 1)),
                                ((3, 3), (1, 1))]
    assert all(
        type(c.bn).__name__ == 'BatchNorm2d' and c.with_activation
        for c in convs)
    # the classifier starts small (mmseg's std 0.01), biases 0
    assert head.cls_seg.weight.std().item() == pytest.approx(0.01, rel=0.2)


def test_logits_at_one_eighth_with_background_class():
    with torch.no_grad():
        out = _head()(_levels())
    # 75 -> (75 + 2 - 3) // 2 + 1 = 38: BiSeNet's 1/8 of a 300 px input
    assert out.shape == (2, 5, 38, 38)
    no_bg = BiSeNetSegHead(
        num_classes=4, background=False, in_channels=(16, ) * 7)
    assert no_bg.cls_seg.out_channels == 4


def test_output_reads_the_spatial_and_the_two_context_levels_only():
    """Spatial path on level 0, context on levels 2 (stride 16) and 3
    (stride 32): changing any other level leaves the logits unchanged,
    changing one of these changes them."""
    head = _head()
    base = _levels()
    with torch.no_grad():
        ref = head(base)
        for k in range(len(SIDES)):
            x = list(base)
            x[k] = x[k] + 1.0
            changed = not torch.allclose(head(tuple(x)), ref)
            assert changed == (k in (0, 2, 3)), k


def test_missing_mask_is_ignored_and_loss_is_pixel_ce_at_one_eighth():
    # eval: BatchNorm on running statistics, so the two images do not mix
    # through the batch statistics and a gradient to image 1 would be a bug
    head = _head()
    x = tuple(f.detach().requires_grad_() for f in _levels(1))
    g = torch.Generator().manual_seed(0)
    mask = torch.randint(0, 5, (300, 300), generator=g)
    mask[:40] = 255  # a void band
    with_mask = DetDataSample(metainfo=dict(batch_input_shape=(300, 300)))
    with_mask.gt_sem_seg = PixelData(sem_seg=mask[None])
    no_mask = DetDataSample(metainfo=dict(batch_input_shape=(300, 300)))
    logits = head(x)
    loss = head.loss(x, [with_mask, no_mask])['loss_seg']
    # the reference: mean CE over image 0's non-void pixels of the mask
    # taken nearest at the logits' 38 x 38: pixel floor(i * 300 / 38), in
    # float32 as torch's nearest rule computes it
    idx = (torch.arange(38.) * torch.tensor(300 / 38)).floor().long()
    small = mask[idx][:, idx]
    ref = F.cross_entropy(logits[:1], small[None], ignore_index=255)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    grads = torch.autograd.grad(loss, [x[k] for k in (0, 2, 3)])
    # the second image has no mask: no gradient reaches its features
    assert all(gr[1].abs().sum() == 0 for gr in grads)
    assert all(gr[0].abs().sum() > 0 for gr in grads)


@pytest.mark.parametrize(
    'kw,msg',
    [(dict(spatial_level=7), 'must index the 7 neck levels'),
     (dict(context_levels=(3, 2)), 'must be \\(finer, coarser\\)'),
     (dict(spatial_strides=(2, 1)), 'differ in length'),
     (dict(loss_at='pixels'), "loss_at must be 'logits' or 'input'")])
def test_clear_errors(kw, msg):
    with pytest.raises(ValueError, match=msg):
        BiSeNetSegHead(num_classes=4, in_channels=(16, ) * 7, **kw)


@pytest.mark.slow
def test_bisenet_config_trains_and_predicts_full_size_maps(coco_mini):
    with_mask = coco_mini_dataset(coco_mini, with_sem_seg=True)
    no_mask = coco_mini_dataset(coco_mini, with_sem_seg=False)
    batch = pseudo_collate([with_mask[0], no_mask[1]])
    torch.manual_seed(0)
    model = build_model('blitznet300_bisenet_voc.py', num_classes=80)
    assert type(model.seg_head).__name__ == 'BiSeNetSegHead'
    model.train()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_cls', 'loss_bbox', 'loss_seg'} <= set(losses)
    losses['loss_seg'].backward()
    assert model.seg_head.ffm.conv1.conv.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model.test_step(copy.deepcopy(batch))
    h, w = out[0].ori_shape
    assert out[0].pred_sem_seg.sem_seg.shape == (1, h, w)
