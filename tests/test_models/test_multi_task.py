"""Several segmentation tasks in one BlitzNet, on the real images of
data/samples: task 1 is the existing label map (instances, c + 1), task
``fg`` a binary foreground map and task ``kinds`` a multi-label map of
overlapping supercategory regions (person / vehicle / animal), both written
from the real instance masks by blitznet_mm.testing."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate

from blitznet_mm.testing.builders import build_model
from blitznet_mm.testing.task_masks import write_task_pngs

ANN = 'annotations/instances_train2017.json'
KINDS = ('person', 'vehicle', 'animal')
TASKS = [
    dict(name='fg', num_classes=1),
    dict(name='kinds', num_classes=3, multi_label=True)
]


@pytest.fixture(scope='module')
def task_data(coco_mini, tmp_path_factory):
    """The tasks' PNGs (the second image has no ``fg`` mask) and the
    dataset reading them with a deterministic 300x300 pipeline."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    out = tmp_path_factory.mktemp('tasks')
    ann = osp.join(coco_mini, ANN)
    import json
    with open(ann) as f:
        images = json.load(f)['images']
    no_fg = images[1]['file_name']  # the dataset keeps the json's order
    fg = write_task_pngs(ann, str(out / 'fg'), 'foreground', skip=[no_fg])
    kinds = write_task_pngs(ann, str(out / 'kinds'), 'multi_label', KINDS)
    ds = DATASETS.build(
        dict(
            type='BlitzNetMultiTaskCocoDataset',
            data_root=coco_mini,
            ann_file=ANN,
            data_prefix=dict(
                img='train2017/', fg=str(out / 'fg'),
                kinds=str(out / 'kinds')),
            seg_tasks=dict(
                fg=dict(classes=('object', )),
                kinds=dict(classes=KINDS, multi_label=True)),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadBlitzNetAnnotations'),
                dict(type='LoadTaskMasks'),
                dict(type='Resize', scale=(300, 300), keep_ratio=False),
                dict(type='PackBlitzNetInputs')
            ]))
    return ds, fg, kinds, no_fg


def _model(**kw):
    torch.manual_seed(0)
    return build_model(
        'blitznet300_coco.py', seg_tasks=copy.deepcopy(TASKS), **kw)


@pytest.fixture(scope='module')
def built():
    """One three-task model for the tests that do not train it (copy it
    before changing it)."""
    return _model()


def test_task_configs_are_checked():
    from blitznet_mm.models.detectors.seg_tasks import parse_seg_tasks
    head = dict(type='BlitzNetSegHead', in_channels=512)
    (fg, fg_head), (kinds, kinds_head) = parse_seg_tasks(TASKS, head)
    assert (fg.num_outputs, fg_head['num_classes'], fg_head['background']) \
        == (2, 1, True)
    assert kinds.num_outputs == 3 and not kinds.background
    assert kinds_head['type'] == 'BlitzNetMultiLabelSegHead'
    assert kinds_head['loss_seg']['use_sigmoid']
    assert (fg.gt_key, fg.pred_key) == ('gt_fg', 'pred_fg')
    for bad, msg in (([dict(name='sem_seg',
                            num_classes=2)], 'identifier other'),
                     ([dict(name='a b', num_classes=2)], 'identifier'),
                     ([dict(name='a', num_classes=2)] * 2,
                      'named twice'), ([dict(name='a')], 'set num_classes'), ([
                          dict(
                              name='a',
                              num_classes=2,
                              multi_label=True,
                              background=True)
                      ], 'no background'),
                     ([dict(name='a', num_classes=2, typo=1)],
                      'unknown keys'), ([
                          dict(
                              name='a',
                              num_classes=2,
                              seg_head=dict(head, num_classes=3))
                      ], r'num_classes=2 but its seg_head\.num_classes=3')):
        with pytest.raises(ValueError, match=msg):
            parse_seg_tasks(bad, head)
    with pytest.raises(ValueError, match='no seg_head to copy'):
        parse_seg_tasks(TASKS, None)


def test_tasks_of_model_and_dataset_must_agree():
    from blitznet_mm.models.detectors.seg_tasks import (check_task_sets,
                                                        parse_seg_tasks)
    tasks = [
        t for t, _ in parse_seg_tasks(
            TASKS, dict(type='BlitzNetSegHead', in_channels=512))
    ]
    meta = dict(
        seg_tasks=dict(
            fg=dict(seg_classes=('object', ), seg_background=True),
            kinds=dict(seg_classes=KINDS, multi_label=True)))
    check_task_sets(tasks, meta, 'the train dataset D')
    check_task_sets(tasks, dict(classes=('a', )), 'D')  # no task masks
    bad = dict(
        seg_tasks=dict(
            meta['seg_tasks'],
            fg=dict(seg_classes=('object', 'stuff'), seg_background=True)))
    with pytest.raises(
            ValueError,
            match=r"seg task 'fg': the train dataset D "
            r'has 2 classes \(background=True, multi_label=False\)'
            r' but model.seg_tasks states num_classes=1'):
        check_task_sets(tasks, bad, 'the train dataset D')
    with pytest.raises(
            ValueError, match=r"states the seg tasks \['fg'\] but "
            r"not 'kinds'"):
        check_task_sets(tasks,
                        dict(seg_tasks=dict(fg=meta['seg_tasks']['fg'])),
                        'the train dataset D')


@pytest.mark.slow
def test_each_task_has_its_head_and_single_task_is_unchanged(built):
    single = build_model('blitznet300_coco.py')
    assert single.seg_tasks == () and not hasattr(single, 'task_heads')
    model = built
    assert {k: h.cls_seg.out_channels for k, h in model.task_heads.items()} \
        == dict(fg=2, kinds=3)
    assert model.seg_head.cls_seg.out_channels == 81
    # the extra heads add parameters only under task_heads.<name>
    extra = set(model.state_dict()) - set(single.state_dict())
    assert extra and all(
        k.startswith(('task_heads.fg.', 'task_heads.kinds.')) for k in extra)
    assert set(single.state_dict()) <= set(model.state_dict())


@pytest.mark.slow
def test_two_tasks_train_on_real_images(task_data):
    """4 Adam steps on two real images (first image with all masks): the
    loss of each task falls."""
    from mmengine.optim import OptimWrapper
    ds = task_data[0]
    model = _model()
    samples = [ds[0], ds[2]]
    assert all('gt_fg' in s['data_samples'] for s in samples)
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-4))
    model.train()
    logs = [model.train_step(pseudo_collate(samples), optim) for _ in range(4)]
    for key in ('loss_seg', 'loss_seg_fg', 'loss_seg_kinds'):
        first, last = float(logs[0][key]), float(logs[-1][key])
        print(f'{key}: {first:.4f} -> {last:.4f}')
        assert last < 0.7 * first, (key, first, last)


def _losses(model, samples):
    data = model.data_preprocessor(pseudo_collate(samples), True)
    with torch.no_grad():
        return model.loss(data['inputs'], data['data_samples'])


@pytest.mark.slow
def test_masks_only_and_boxes_only_images_in_one_batch(task_data, built):
    """Masks-only image A (its boxes removed) and boxes-only image B (no
    mask of any task) in one batch: every task's loss is A's alone, the
    detection loss B's alone (eval mode: no batch statistics)."""
    ds = task_data[0]
    a, b = copy.deepcopy(ds[0]), copy.deepcopy(ds[2])
    a['data_samples'].gt_instances = a['data_samples'].gt_instances[:0]
    for key in ('gt_sem_seg', 'gt_fg', 'gt_kinds'):
        delattr(b['data_samples'], key)
    model = copy.deepcopy(built).eval()
    both = _losses(model, [a, b])
    only_a, only_b = _losses(model, [a]), _losses(model, [b])
    for key in ('loss_seg', 'loss_seg_fg', 'loss_seg_kinds'):
        assert float(both[key]) > 0
        torch.testing.assert_close(
            both[key], only_a[key], rtol=1e-5, atol=1e-6)
    for key in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(
            _total(both[key]), _total(only_b[key]), rtol=1e-5, atol=1e-6)


def _total(v):
    return sum(v) if isinstance(v, (list, tuple)) else v


@pytest.mark.slow
def test_image_lacking_a_task_mask_is_ignored_for_that_task_only(
        task_data, built):
    ds, _, _, no_fg = task_data
    sample = ds[1]
    assert osp.basename(sample['data_samples'].img_path) == no_fg
    assert 'gt_fg' not in sample['data_samples']
    assert {'gt_sem_seg', 'gt_kinds'} <= set(sample['data_samples'].keys())
    model = copy.deepcopy(built).train()
    data = model.data_preprocessor(pseudo_collate([sample]), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert float(losses['loss_seg_fg']) == 0
    assert float(losses['loss_seg']) > 0
    assert float(losses['loss_seg_kinds']) > 0
    losses['loss_seg_fg'].backward()
    grads = [p.grad for p in model.task_heads.fg.parameters()]
    assert all(g is None or not g.any() for g in grads)


@pytest.mark.slow
def test_multi_label_loss_matches_a_reference(task_data, built):
    """BCE of the ``kinds`` head against one written here: per class
    -(y log s + (1 - y) log(1 - s)), s = sigmoid(logit), averaged over the
    scored (pixel, class) pairs, the 300x300 mask sampled at the logits'
    stride 4 (nearest: rows and columns 0, 4, 8, ...)."""
    ds = task_data[0]
    samples = [ds[0], ds[3]]
    model = copy.deepcopy(built).eval()
    data = model.data_preprocessor(pseudo_collate(samples), True)
    with torch.no_grad():
        losses = model.loss(data['inputs'], data['data_samples'])
        logits = model.task_heads.kinds(model.extract_feat(data['inputs']))
    assert logits.shape == (2, 3, 75, 75)
    gt = torch.stack([s.gt_kinds.sem_seg for s in data['data_samples']])
    y = gt[:, :, ::4, ::4].double()
    valid = y != 255
    z = logits.double()
    # log s = -softplus(-z), log(1 - s) = -softplus(z): finite for the
    # large logits of an untrained network in eval mode
    bce = y * F.softplus(-z) + (1 - y) * F.softplus(z)
    ref = bce[valid].sum() / valid.sum()
    assert valid.any() and (y[valid] == 1).any()
    assert abs(float(losses['loss_seg_kinds']) - float(ref)) < 1e-4


@pytest.mark.slow
def test_predictions_of_every_task(task_data, built):
    ds = task_data[0]
    model = copy.deepcopy(built).eval()
    with torch.no_grad():
        out = model.test_step(pseudo_collate([ds[0]]))[0]
    h, w = out.ori_shape
    assert out.pred_sem_seg.sem_seg.shape == (1, h, w)
    assert out.pred_fg.sem_seg.shape == (1, h, w)
    assert int(out.pred_fg.sem_seg.max()) <= 1
    assert out.pred_kinds.sem_seg.shape == (3, h, w)
    assert set(out.pred_kinds.sem_seg.unique().tolist()) <= {0, 1}
    # the thresholded output is sigmoid > 0.5 of the upsampled logits
    data = model.data_preprocessor(pseudo_collate([ds[0]]), False)
    with torch.no_grad():
        logits = model.task_heads.kinds(model.extract_feat(data['inputs']))
    up = F.interpolate(
        logits, size=(h, w), mode='bilinear', align_corners=False)[0]
    assert torch.equal(out.pred_kinds.sem_seg, (torch.sigmoid(up)
                                                > 0.5).long())
    raw = model._forward(data['inputs'])
    assert len(raw) == 4 and raw[-1].shape[1] == 3 and raw[-2].shape[1] == 2
