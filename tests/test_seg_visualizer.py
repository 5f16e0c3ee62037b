"""The visualizer draws the dataset's segmentation set: its names and
colours, background (in a set with one) left undrawn."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from blitznet_mm.testing.tool_runs import run_script


def _draw(meta, labels):
    import blitznet_mm  # noqa: F401
    from blitznet_mm.visualization import BlitzNetLocalVisualizer
    vis = BlitzNetLocalVisualizer(name=f'seg_vis_{id(meta)}')
    vis.dataset_meta = meta
    image = np.zeros((200, 200, 3), np.uint8)
    sem = PixelData(sem_seg=torch.from_numpy(labels)[None])
    return vis._draw_sem_seg(image, sem, meta.get('classes'),
                             meta.get('palette'))


def test_set_without_background_draws_label_zero_in_its_colour():
    labels = np.zeros((200, 200), np.int64)
    labels[:, 100:] = 1
    labels[:10, :10] = 255  # void: never drawn
    meta = dict(
        classes=('car', ),
        palette=[(0, 255, 0)],
        seg_classes=('road', 'sky'),
        seg_background=False,
        seg_palette=[(255, 0, 0), (0, 0, 255)])
    out = _draw(meta, labels)
    assert out[2, 2].tolist() == [0, 0, 0]
    road, sky = out[150, 20], out[150, 180]
    assert road[0] > 100 and road[1] == road[2] == 0  # red
    assert sky[2] > 100 and sky[0] == sky[1] == 0  # blue


def test_default_set_leaves_background_and_uses_detection_colours():
    labels = np.zeros((200, 200), np.int64)
    labels[:, 100:] = 1  # detection class 0, 'car'
    out = _draw(dict(classes=('car', ), palette=[(0, 255, 0)]), labels)
    assert out[150, 20].tolist() == [0, 0, 0]  # background: not drawn
    car = out[150, 180]
    assert car[1] > 100 and car[0] == car[2] == 0  # the box colour of car


def _real_crop(coco_mini, h=48, w=64):
    """(h, w, 3) RGB uint8 crop of a real COCO image."""
    import os
    import os.path as osp

    import mmcv
    folder = osp.join(coco_mini, 'train2017')
    img = mmcv.imread(osp.join(folder, sorted(os.listdir(folder))[0]))
    return np.ascontiguousarray(img[100:100 + h, 100:100 + w, ::-1])


def _label_map(h, w, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, (h, w))
    labels[rng.random((h, w)) < 0.2] = 255  # void: left as it is
    return labels


def test_blend_equals_per_pixel_reference(coco_mini):
    from blitznet_mm.visualization.local_visualizer import blend_label_map
    img = _real_crop(coco_mini)
    labels = _label_map(*img.shape[:2], num_classes=5)
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (17, 130, 201),
               (250, 250, 3)]
    for alpha in (0.8, 0.5, 0.3):
        out = blend_label_map(img, labels, palette, alpha)
        a, b = np.float32(1 - alpha), np.float32(alpha)
        for y in range(img.shape[0]):
            for x in range(img.shape[1]):
                if labels[y, x] == 255:
                    assert out[y, x].tolist() == img[y, x].tolist()
                    continue
                want = [
                    round(float(np.float32(v) * a + np.float32(c) * b))
                    for v, c in zip(img[y, x], palette[labels[y, x]])
                ]
                assert out[y, x].tolist() == want, (alpha, y, x)


def test_blend_at_mmdets_alpha_equals_mmengines_mask_drawing(coco_mini):
    """One blend = mmengine's draw_binary_masks once per class (what
    mmdet's _draw_sem_seg does), pixel for pixel, at mmdet's alpha 0.8."""
    from mmengine.visualization import Visualizer

    from blitznet_mm.visualization.local_visualizer import blend_label_map
    img = _real_crop(coco_mini)
    labels = _label_map(*img.shape[:2], num_classes=4, seed=1)
    palette = [(220, 20, 60), (119, 11, 32), (0, 0, 142), (255, 255, 255)]
    vis = Visualizer(name='blend_vs_mmengine')
    vis.set_image(img)
    for c in range(4):
        vis.draw_binary_masks(labels == c, colors=[palette[c]], alphas=0.8)
    assert np.array_equal(
        blend_label_map(img, labels, palette, 0.8), vis.get_image())


def test_blend_rejects_a_label_without_colour():
    from blitznet_mm.visualization.local_visualizer import blend_label_map
    labels = np.zeros((4, 4), np.int64)
    labels[0, 0] = 2
    with pytest.raises(ValueError, match='palette of 2 colours'):
        blend_label_map(
            np.zeros((4, 4, 3), np.uint8), labels, [(1, 1, 1)] * 2, 0.5)


def test_each_class_named_once_on_its_largest_region():
    from blitznet_mm.visualization.local_visualizer import label_regions
    labels = np.full((100, 120), 255, np.int64)
    labels[10:20, 10:20] = 1  # small region of class 1
    labels[50:70, 40:70] = 1  # its largest: rows 50..69, columns 40..69
    labels[90, 100] = 3
    ids, centroids, areas = label_regions(labels)
    assert ids.tolist() == [1, 3]
    assert areas.tolist() == [20 * 30, 1]
    np.testing.assert_allclose(centroids, [[54.5, 59.5], [100, 90]])


def test_drawn_sem_seg_names_each_class_at_its_region():
    labels = np.zeros((200, 200), np.int64)
    labels[:, 100:] = 1
    labels[:10, :10] = 255
    meta = dict(
        classes=('car', ),
        palette=[(0, 255, 0)],
        seg_classes=('road', 'sky'),
        seg_background=False,
        seg_palette=[(255, 0, 0), (0, 0, 255)])
    import blitznet_mm  # noqa: F401
    from blitznet_mm.visualization import BlitzNetLocalVisualizer
    vis = BlitzNetLocalVisualizer(name='seg_vis_texts')
    vis.dataset_meta = meta
    vis._draw_sem_seg(
        np.zeros((200, 200, 3), np.uint8),
        PixelData(sem_seg=torch.from_numpy(labels)[None]), None, None)
    texts = {t.get_text(): t.get_position() for t in vis.ax_save.texts}
    assert sorted(texts) == ['road', 'sky']
    assert texts['sky'] == pytest.approx((149.5, 99.5))  # columns 100..199
    # road: columns 0..99 of rows 0..199, less the 10 x 10 void corner
    area = 100 * 200 - 10 * 10
    x_sum = 200 * sum(range(100)) - 10 * sum(range(10))
    y_sum = 100 * sum(range(200)) - 10 * sum(range(10))
    assert texts['road'] == pytest.approx((x_sum / area, y_sum / area))


def test_multi_label_map_shows_the_last_class_present():
    from blitznet_mm.visualization.local_visualizer import task_label_map
    data = np.zeros((3, 2, 3), np.uint8)
    data[0, 0, :2] = 1
    data[2, 0, 1:] = 1  # overlaps class 0 at (0, 1): class 2 shows
    data[1, 1, 0] = 1
    data[2, 1, 0] = 255  # not scored: not a class present
    out = task_label_map(torch.from_numpy(data), dict(multi_label=True))
    assert out.tolist() == [[[0, 2, 2], [1, 255, 255]]]


@pytest.mark.slow
def test_folder_run_shows_a_progress_bar_with_eta(tmp_path, coco_mini):
    """demo/image_demo.py on a folder of 2 real images: mmengine's bar with
    an ETA, each image's line starting on a line of its own."""
    import os
    import re
    import shutil

    from blitznet_mm.testing.builders import REPO
    folder = tmp_path / 'in'
    folder.mkdir()
    src = os.path.join(coco_mini, 'train2017')
    names = sorted(os.listdir(src))[:2]
    for name in names:
        shutil.copy(os.path.join(src, name), folder / name)
    res = run_script([
        os.path.join(REPO, 'demo', 'image_demo.py'),
        str(folder),
        os.path.join(REPO, 'configs', 'blitznet300_coco_mini.py'), '--out-dir',
        str(tmp_path / 'out'), '--no-save-pred', '--pred-score-thr', '0.9'
    ],
                     timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert re.search(r'\] 1/2, [\d.]+ task/s, elapsed: \d+s, ETA: +\d+s',
                     res.stdout), res.stdout
    assert re.search(r'\] 2/2, .*ETA: +0s', res.stdout), res.stdout
    lines = re.split(r'[\r\n]', res.stdout)
    for name in names:
        line = [x for x in lines if f'{name}: ' in x]
        assert len(line) == 1 and line[0].startswith(str(folder)), lines
    assert lines[-2].startswith('2 images done'), lines
    assert len(os.listdir(tmp_path / 'out' / 'vis')) == 2
