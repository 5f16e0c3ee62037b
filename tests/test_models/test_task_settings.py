"""The ignored segmentation label is stated once, as model.ignore_index: the
model gives it to its segmentation heads (extra tasks and mmseg heads too),
their losses and the data preprocessor's seg_pad_value, and refuses a
sub-config that states another one, naming both."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate

from blitznet_mm.testing.builders import coco_mini_dataset, load_cfg


def _build(name, **model_updates):
    """The model of configs/<name>, without weight init (not needed)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = load_cfg(name)
    cfg.model.update(model_updates)
    return MODELS.build(cfg.model)


def _heads(model):
    return [model.seg_head] + list(getattr(model, 'task_heads', {}).values())


@pytest.mark.parametrize('name',
                         ['blitznet300_bdd100k.py', 'blitznet300_fcn_voc.py'])
def test_ignore_index_reaches_every_head_loss_and_the_preprocessor(name):
    model = _build(name, ignore_index=254)
    assert model.ignore_index == 254
    assert model.data_preprocessor.seg_pad_value == 254
    for head in _heads(model):
        assert head.ignore_index == 254
        assert head.loss_seg.ignore_index == 254
    if name == 'blitznet300_fcn_voc.py':  # the mmseg decode head inside
        assert model.seg_head.head.ignore_index == 254
    else:  # the multi-label task keeps its sigmoid loss
        assert model.task_heads['lane'].loss_seg.use_sigmoid
    shipped = _build(name)  # the configs state nothing else: 255
    assert shipped.data_preprocessor.seg_pad_value == 255
    assert {h.loss_seg.ignore_index for h in _heads(shipped)} == {255}


def test_the_model_ignores_its_label_on_real_images(coco_mini):
    """A mask-less image gets an all-254 mask; loss_seg is the
    cross-entropy that ignores the pixels labelled 254 (reference here)."""
    ds = coco_mini_dataset(coco_mini)
    a, b = copy.deepcopy(ds[0]), copy.deepcopy(ds[1])
    mask = a['data_samples'].gt_sem_seg.sem_seg
    mask[mask == 255] = 254
    mask[:, :100, :100] = 254  # a void corner
    del b['data_samples'].gt_sem_seg
    torch.manual_seed(0)
    model = _build('blitznet300_coco_mini.py', ignore_index=254)
    model.train()
    data = model.data_preprocessor(pseudo_collate([a, b]), True)
    assert (data['data_samples'][1].gt_sem_seg.sem_seg == 254).all()
    with torch.no_grad():
        x = model.extract_feat(data['inputs'])
        logits = model.seg_head(x)
        loss = model.seg_head.loss(x, data['data_samples'])['loss_seg']
    gt = mask[0].long()
    # the loss at the logits' stride: nearest 300 -> 75, every 4th pixel
    ref = F.cross_entropy(logits[:1], gt[None, ::4, ::4], ignore_index=254)
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-6)


def test_a_second_statement_of_the_ignored_label_is_refused():
    from blitznet_mm.models.detectors.blitznet import agree_ignore_index
    head = dict(type='BlitzNetSegHead')
    for sides, pre, seg in (
        ('seg_head.ignore_index=254', None, dict(head, ignore_index=254)),
        ('seg_head.loss_seg.ignore_index=254', None,
         dict(head, loss_seg=dict(type='CrossEntropyLoss', ignore_index=254))),
        ('data_preprocessor.seg_pad_value=0',
         dict(type='BlitzNetDataPreprocessor', seg_pad_value=0), head),
    ):
        with pytest.raises(
                ValueError,
                match=rf'model\.ignore_index=255, {sides} disagree'):
            agree_ignore_index(255, pre, seg_head=seg)
    # a task head copied from the model's seg_head is checked by its name
    with pytest.raises(
            ValueError, match=r'seg_tasks\[lane\]\.seg_head\.ignore_index=7'):
        agree_ignore_index(
            255,
            None,
            seg_head=head,
            **{'seg_tasks[lane].seg_head': dict(head, ignore_index=7)})
    # a shipped config with one statement changed
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = load_cfg('blitznet300_voc.py')
    cfg.model.seg_head.loss_seg.ignore_index = 0
    with pytest.raises(
            ValueError,
            match=r'model\.ignore_index=255, '
            r'seg_head\.loss_seg\.ignore_index=0 disagree'):
        MODELS.build(cfg.model)
