"""The visualizer draws the dataset's segmentation set: its names and
colours, background (in a set with one) left undrawn."""
import numpy as np
import torch
from mmengine.structures import PixelData


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
