"""A segmentation label set of its own: stated once on the model, checked
against the heads at build time and against the dataset by
ClassCountCheckHook; a masks-only and a boxes-only real image in one batch
with the 12 COCO supercategories as the segmentation classes."""
import copy
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate

from blitznet_mm.testing import write_coco_stuff_pngs
from blitznet_mm.testing.builders import build_model, load_cfg

ANN = 'annotations/instances_train2017.json'


def test_seg_set_is_stated_once_and_checked_at_build():
    from blitznet_mm.models.detectors.blitznet import agree_seg_classes
    head, n, bg = agree_seg_classes(None, None, 80, dict(type='H'))
    assert (head['num_classes'], head['background']) == (80, True)
    assert (n, bg) == (80, True)
    head, n, bg = agree_seg_classes(171, False, 80, dict(type='H'))
    assert (head['num_classes'], head['background']) == (171, False)
    with pytest.raises(
            ValueError,
            match=r'model\.seg_num_classes=171, '
            r'seg_head\.num_classes=80'):
        agree_seg_classes(171, None, 80, dict(type='H', num_classes=80))
    with pytest.raises(
            ValueError,
            match=r'model\.num_classes \(no '
            r'model\.seg_num_classes\)=80, seg_head\.num_classes'
            r'=171'):
        agree_seg_classes(None, None, 80, dict(type='H', num_classes=171))
    with pytest.raises(
            ValueError,
            match=r'model\.seg_background=False, '
            r'seg_head\.background=True disagree'):
        agree_seg_classes(171, False, 80, dict(type='H', background=True))
    # the default: detection classes + background; else the stated set
    cfg = load_cfg('blitznet300_coco.py')
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    with pytest.raises(ValueError, match='seg_head.num_classes=80'):
        MODELS.build(
            dict(
                cfg.model,
                seg_num_classes=12,
                seg_head=dict(cfg.model.seg_head, num_classes=80)))


@pytest.mark.slow
def test_heads_have_the_sets_outputs():
    model = build_model(
        'blitznet300_coco.py', seg_num_classes=171, seg_background=False)
    assert model.seg_head.cls_seg.out_channels == 171 == model.num_seg_outputs
    assert model.bbox_head.cls_out_channels == 81  # detection unchanged
    fcn = build_model(
        'blitznet300_fcn_voc.py', seg_num_classes=12, seg_background=False)
    assert fcn.seg_head.head.num_classes == 12 == fcn.num_seg_outputs
    assert fcn.num_classes == 20


@pytest.fixture(scope='module')
def supercats(coco_mini, tmp_path_factory):
    """COCO's 12 supercategories (no background) as PNG masks of the real
    images, and a json in which the first image has no boxes."""
    with open(osp.join(coco_mini, ANN)) as f:
        coco = json.load(f)
    names = tuple(sorted({c['supercategory'] for c in coco['categories']}))
    out = tmp_path_factory.mktemp('supercats')
    write_coco_stuff_pngs(
        osp.join(coco_mini, ANN),
        str(out / 'masks'),
        lambda c: names.index(c['supercategory']),
        suffix='.png')
    first = min(i['id'] for i in coco['images'])
    coco['annotations'] = [
        a for a in coco['annotations'] if a['image_id'] != first
    ]
    with open(out / 'no_boxes_first.json', 'w') as f:
        json.dump(coco, f)
    return names, str(out), first


def _dataset(coco_mini, names, **kwargs):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    cfg = dict(
        type='BlitzNetCocoDataset',
        data_root=coco_mini,
        ann_file=ANN,
        data_prefix=dict(img='train2017/'),
        metainfo=dict(seg_classes=names, seg_background=False),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadBlitzNetAnnotations'),
            dict(type='Resize', scale=(300, 300), keep_ratio=False),
            dict(type='PackDetInputs')
        ])
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_class_count_check_hook_checks_the_seg_set(coco_mini, supercats):
    from blitznet_mm.engine.hooks import ClassCountCheckHook
    names, root, _ = supercats
    ds = _dataset(coco_mini, names, with_sem_seg=False)
    model = torch.nn.Module()
    model.num_classes, model.with_bbox, model.with_seg = 80, True, True
    model.seg_num_classes, model.seg_background = 80, True
    runner = type(
        'Runner', (),
        dict(model=model, train_dataloader=type('L', (),
                                                dict(dataset=ds))()))()
    expected = (r'instances_train2017\.json\) has 12 classes, no background '
                r'for segmentation \(metainfo seg_classes\) but the model '
                r'segments 80 classes \+ background '
                r'\(model\.seg_num_classes=80, model\.seg_background=True\)')
    with pytest.raises(ValueError, match=expected):
        ClassCountCheckHook().before_train(runner)
    model.seg_num_classes = 12
    with pytest.raises(ValueError, match='model.seg_background=True'):
        ClassCountCheckHook().before_train(runner)
    model.seg_background = False
    ClassCountCheckHook().before_train(runner)  # agrees
    model.num_classes = 20  # the detection check is still there
    with pytest.raises(
            ValueError, match='80 classes but the model has '
            'num_classes=20'):
        ClassCountCheckHook().before_train(runner)


@pytest.mark.slow
def test_masks_only_and_boxes_only_image_in_one_batch(coco_mini, supercats):
    """Image A has a 12-supercategory mask and no boxes, image B boxes and
    no mask: loss_seg is the cross-entropy over A's pixels alone
    (reference here), B gets no segmentation gradient, A no positives."""
    names, root, first = supercats
    masks_only = _dataset(
        coco_mini,
        names,
        ann_file=osp.join(root, 'no_boxes_first.json'),
        data_prefix=dict(img='train2017/', seg=osp.join(root, 'masks')),
        seg_map_suffix='.png')
    boxes_only = _dataset(coco_mini, names, with_sem_seg=False)
    ids = [
        masks_only.get_data_info(i)['img_id'] for i in range(len(masks_only))
    ]
    a = masks_only[ids.index(first)]
    b = boxes_only[(ids.index(first) + 1) % len(ids)]
    assert len(a['data_samples'].gt_instances) == 0
    assert len(b['data_samples'].gt_instances) > 0
    torch.manual_seed(0)
    model = build_model(
        'blitznet300_coco_mini.py', seg_num_classes=12, seg_background=False)
    model.train()
    data = model.data_preprocessor(pseudo_collate([a, b]), True)
    x = tuple(f.detach().requires_grad_()
              for f in model.extract_feat(data['inputs']))
    head, grads = model.seg_head, {}
    logits = head(x)
    assert logits.shape == (2, 12, 75, 75)
    logits.register_hook(lambda g: grads.setdefault('g', g))
    head_forward = head.forward
    head.forward = lambda feats: logits
    loss = head.loss(x, data['data_samples'])['loss_seg']
    head.forward = head_forward
    loss.backward()
    gt = a['data_samples'].gt_sem_seg.sem_seg[0].long()
    assert set(gt.unique().tolist()) - {255} <= set(range(12))
    # the loss at the logits' stride: nearest 300 -> 75 takes every 4th pixel
    ref = F.cross_entropy(
        logits[:1].detach().float(), gt[None, ::4, ::4], ignore_index=255)
    torch.testing.assert_close(loss.detach(), ref, rtol=1e-5, atol=1e-6)
    assert grads['g'][1].abs().sum() == 0 and grads['g'][0].abs().sum() > 0
    losses = model.loss(data['inputs'], data['data_samples'])
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert losses['loss_cls'] > 0 and losses['loss_seg'] > 0
    model.eval()
    with torch.no_grad():
        out = model.test_step(copy.deepcopy(pseudo_collate([a])))[0]
    assert out.pred_sem_seg.sem_seg.max() < 12
