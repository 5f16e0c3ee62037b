"""mmseg decode heads as BlitzNet's segmentation branch, with BlitzNet's
mixed-annotation semantics."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate

from blitznet_mm.testing.builders import build_model, coco_mini_dataset


@pytest.fixture(scope='module')
def mixed_batch(coco_mini):
    with_mask = coco_mini_dataset(coco_mini, with_sem_seg=True)
    no_mask = coco_mini_dataset(coco_mini, with_sem_seg=False)
    return pseudo_collate([with_mask[0], no_mask[1]])


@pytest.mark.slow
@pytest.mark.parametrize(
    'name,head,size',
    [('blitznet300_aspp_voc.py', 'DepthwiseSeparableASPPHead', 75),
     ('blitznet300_fcn_voc.py', 'FCNHead', 75)])
def test_mmseg_head_trains_and_predicts(name, head, size, mixed_batch):
    torch.manual_seed(0)
    model = build_model(name, num_classes=80)
    assert type(model.seg_head).__name__ == 'MMSegDecodeHead'
    assert type(model.seg_head.head).__name__ == head
    assert model.seg_head.head.num_classes == 81
    model.train()
    data = model.data_preprocessor(copy.deepcopy(mixed_batch), True)
    x = tuple(f.detach().requires_grad_()
              for f in model.extract_feat(data['inputs']))
    grads, head = {}, model.seg_head
    forward = head.forward

    def keep_grad(feats):
        logits = forward(feats)
        logits.register_hook(lambda g: grads.setdefault('g', g))
        return logits

    head.forward = keep_grad
    assert head(x).shape == (2, 81, size, size)
    grads.clear()
    loss = head.loss(x, data['data_samples'])['loss_seg']
    loss.backward()
    # the boxes-only image (no mask) gives no segmentation gradient
    assert grads['g'][1].abs().sum() == 0 and grads['g'][0].abs().sum() > 0
    head.forward = forward
    model.eval()
    with torch.no_grad():
        out = model.test_step(copy.deepcopy(mixed_batch))
    h, w = out[0].ori_shape
    assert out[0].pred_sem_seg.sem_seg.shape == (1, h, w)


def test_mmseg_num_classes_must_not_disagree():
    with pytest.raises(ValueError, match='segments 21 classes'):
        from blitznet_mm.models.heads import MMSegDecodeHead
        MMSegDecodeHead(
            dict(
                type='mmseg.FCNHead',
                in_channels=8,
                channels=8,
                num_classes=20),
            num_classes=20)
