"""The visualizer draws each segmentation task: one row per extra task
below mmdet's drawing, on a real image."""
import os.path as osp

import mmcv
import numpy as np
import torch

from blitznet_mm.testing.builders import COCO_MINI

META = dict(
    classes=('person', ),
    palette=[(220, 20, 60)],
    seg_tasks=dict(
        fg=dict(
            seg_classes=('object', ),
            seg_background=True,
            multi_label=False,
            seg_palette=[[0, 255, 0]]),
        kinds=dict(
            seg_classes=('p', 'v'),
            seg_background=False,
            multi_label=True,
            seg_palette=[[255, 0, 0], [0, 0, 255]])))


def test_each_task_is_drawn_in_its_row(tmp_path):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData, PixelData

    import blitznet_mm  # noqa: F401
    from blitznet_mm.visualization import BlitzNetLocalVisualizer
    img = mmcv.imread(
        osp.join(COCO_MINI, 'train2017', '000000078499.jpg'),
        channel_order='rgb')
    h, w = img.shape[:2]
    fg = torch.zeros(1, h, w, dtype=torch.long)
    fg[:, h // 2:] = 1
    kinds = torch.zeros(2, h, w, dtype=torch.long)
    kinds[0, :h // 3, :w // 3] = 1
    kinds[1, :h // 4, :w // 4] = 1  # overlaps class 0: class 1 shows
    ds = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    ds.pred_instances = InstanceData(
        bboxes=torch.zeros(0, 4),
        labels=torch.zeros(0).long(),
        scores=torch.zeros(0))
    ds.pred_sem_seg = PixelData(sem_seg=torch.zeros(1, h, w).long())
    ds.pred_fg = PixelData(sem_seg=fg)
    ds.pred_kinds = PixelData(sem_seg=kinds)
    vis = BlitzNetLocalVisualizer(name='multi_task_vis')
    vis.dataset_meta = META
    out = str(tmp_path / 'drawn.png')
    vis.add_datasample('x', img, ds, draw_gt=False, out_file=out)
    drawn = mmcv.imread(out, channel_order='rgb')
    assert drawn.shape == (3 * h, w, 3)
    main, fg_row, kinds_row = drawn[:h], drawn[h:2 * h], drawn[2 * h:]
    # background of the first task and of fg is left undrawn
    assert np.array_equal(main, img)
    changed = (fg_row != img).any(-1)
    assert changed[h // 2:].mean() > 0.99
    assert changed[:h // 2].mean() < 0.05  # at most the class name's label
    # green-ish where fg is drawn
    assert fg_row[h // 2:, :, 1].mean() > img[h // 2:, :, 1].mean() + 20
    k = (kinds_row != img).any(-1)
    assert k[:h // 3, :w // 3].mean() > 0.99
    blue = kinds_row[:h // 4, :w // 4, 2].astype(int) - \
        img[:h // 4, :w // 4, 2]
    red = kinds_row[h // 4 + 5:h // 3, :w // 3, 0].astype(int) - \
        img[h // 4 + 5:h // 3, :w // 3, 0]
    assert blue.mean() > 20 and red.mean() > 20
