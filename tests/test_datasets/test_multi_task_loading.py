"""Masks of extra segmentation tasks through the pipeline, on the real
images of data/samples: loaded pixel-exact, moved by the training
transforms exactly as the first task's mask, an image lacking a task's
mask ignored for that task only, and bad masks refused by name."""
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from blitznet_mm.testing.task_masks import write_task_pngs

ANN = 'annotations/instances_train2017.json'
KINDS = ('person', 'vehicle', 'animal')
MEAN = [103.06, 115.90, 123.15]


@pytest.fixture(scope='module')
def pngs(coco_mini, tmp_path_factory):
    out = tmp_path_factory.mktemp('task_pngs')
    ann = osp.join(coco_mini, ANN)
    with open(ann) as f:
        images = json.load(f)['images']
    no_fg = images[1]['file_name']
    fg = write_task_pngs(ann, str(out / 'fg'), 'foreground', skip=[no_fg])
    kinds = write_task_pngs(ann, str(out / 'kinds'), 'multi_label', KINDS)
    return str(out), fg, kinds, no_fg


def _dataset(coco_mini, root, pipeline, tasks=None, **kw):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    tasks = tasks or dict(
        fg=dict(classes=('object', )),
        kinds=dict(classes=KINDS, multi_label=True))
    prefix = dict(img='train2017/')
    prefix.update({n: osp.join(root, kw.pop(f'{n}_dir', n)) for n in tasks})
    return DATASETS.build(
        dict(
            type='BlitzNetMultiTaskCocoDataset',
            data_root=coco_mini,
            ann_file=ANN,
            data_prefix=prefix,
            seg_tasks=tasks,
            pipeline=pipeline,
            **kw))


TEST_PIPE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(300, 300), keep_ratio=False),
    dict(type='LoadBlitzNetAnnotations'),
    dict(type='LoadTaskMasks'),
    dict(type='PackBlitzNetInputs')
]


def test_task_masks_load_pixel_exact(coco_mini, pngs):
    root, fg, kinds, no_fg = pngs
    ds = _dataset(coco_mini, root, TEST_PIPE)
    assert ds.metainfo['seg_tasks'] == dict(
        fg=dict(
            seg_classes=('object', ), seg_background=True, multi_label=False),
        kinds=dict(seg_classes=KINDS, seg_background=False, multi_label=True))
    for i in range(4):
        s = ds[i]['data_samples']
        name = osp.basename(s.img_path)
        # the test pipeline loads after Resize: masks at the original size
        want = kinds[name]
        bits = np.stack([(want >> c) & 1 for c in range(3)])
        assert np.array_equal(s.gt_kinds.sem_seg.numpy(), bits)
        if name == no_fg:
            assert 'gt_fg' not in s and 'gt_sem_seg' in s
            continue
        assert np.array_equal(s.gt_fg.sem_seg.numpy()[0], fg[name])
        # foreground = some instance covers the pixel, as the first task
        assert np.array_equal(fg[name], s.gt_sem_seg.sem_seg.numpy()[0] > 0)
    # overlapping classes exist in the real masks (a person on a horse)
    assert any(np.isin(m, (3, 5, 6, 7)).any() for m in kinds.values())


def test_training_transforms_move_every_task_alike(coco_mini, pngs):
    """ZoomOut (always), coverage crop, flip (always), resize: the packed
    ``gt_fg`` equals ``gt_sem_seg > 0`` pixel for pixel, as loaded."""
    root, _, _, no_fg = pngs
    pipe = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadBlitzNetAnnotations'),
        dict(type='LoadTaskMasks'),
        dict(type='ZoomOut', mean=MEAN, prob=1.0),
        dict(type='CoverageRandomCrop'),
        dict(type='RandomFlip', prob=1.0),
        dict(type='Resize', scale=(300, 300), keep_ratio=False),
        dict(type='PackBlitzNetInputs')
    ]
    ds = _dataset(coco_mini, root, pipe)
    np.random.seed(0)
    checked = 0
    for i in range(6):
        s = ds[i]['data_samples']
        sem = s.gt_sem_seg.sem_seg.numpy()[0]
        assert sem.shape == (300, 300) == s.gt_kinds.sem_seg.shape[1:]
        if osp.basename(s.img_path) == no_fg:
            assert 'gt_fg' not in s
            continue
        assert np.array_equal(s.gt_fg.sem_seg.numpy()[0], (sem > 0))
        checked += 1
    assert checked == 5


def test_a_task_without_background_makes_the_canvas_ignored(coco_mini, pngs):
    """The fg PNGs read as a set without background (0 = 'nothing' is a
    class): ZoomOut's canvas must not be painted 0 in any task."""
    root = pngs[0]
    pipe = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadBlitzNetAnnotations'),
        dict(type='LoadTaskMasks'),
        dict(type='ZoomOut', mean=MEAN, prob=1.0),
        dict(type='PackBlitzNetInputs')
    ]
    ds = _dataset(
        coco_mini,
        root,
        pipe,
        tasks=dict(fg=dict(classes=('nothing', 'object'), background=False)))
    np.random.seed(1)
    s = ds[0]['data_samples']
    h, w = s.ori_shape
    sem, fg = s.gt_sem_seg.sem_seg[0].numpy(), s.gt_fg.sem_seg[0].numpy()
    assert sem.shape != (h, w)  # zoomed out
    canvas = sem == 255  # instance maps have no 255: canvas only
    assert canvas.sum() == sem.size - h * w
    assert np.array_equal(fg == 255, canvas)


def test_bad_task_masks_are_refused_by_name(coco_mini, pngs, tmp_path):
    root = pngs[0]
    with pytest.raises(
            ValueError, match=r"no image has a mask of seg task "
            r"'fg'"):
        _dataset(coco_mini, root, TEST_PIPE, fg_dir='typo')
    with pytest.raises(ValueError, match=r"needs data_prefix\['fg'\]"):
        from mmdet.registry import DATASETS

        import blitznet_mm  # noqa: F401
        DATASETS.build(
            dict(
                type='BlitzNetMultiTaskCocoDataset',
                data_root=coco_mini,
                ann_file=ANN,
                data_prefix=dict(img='train2017/'),
                seg_tasks=dict(fg=dict(classes=('object', ))),
                pipeline=TEST_PIPE))
    # a label above the set, a bit above the classes, a wrong size
    from blitznet_mm.datasets.transforms.task_masks import read_task_mask
    bad = tmp_path / 'bad.png'
    Image.fromarray(np.full((4, 5), 2, np.uint8)).save(bad)
    task = dict(name='fg', path=str(bad), num_classes=1, background=True)
    with pytest.raises(
            ValueError,
            match=r'bad\.png \(task fg\) holds labels '
            r'\[2\] but its labels are 0\.\.1'):
        read_task_mask(task, 4, 5, 'img.jpg')
    with pytest.raises(
            ValueError,
            match=r'bad\.png \(task fg\) is 5x4 but '
            r'its image img\.jpg is 6x4'):
        read_task_mask(task, 4, 6, 'img.jpg')
    Image.fromarray(np.full((4, 5), 8, np.uint8)).save(bad)
    with pytest.raises(ValueError, match=r'values \[8\] set bits above the 3'):
        read_task_mask(
            dict(task, num_classes=3, multi_label=True), 4, 5, 'img.jpg')
    with pytest.raises(FileNotFoundError, match='task fg of image img.jpg'):
        read_task_mask(
            dict(task, path=str(tmp_path / 'none.png')), 4, 5, 'img.jpg')
