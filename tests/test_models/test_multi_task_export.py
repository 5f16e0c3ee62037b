"""A model with an extra (multi-label) segmentation task exports with one
logits output per task; the exported model and the inferencer give each
task's map as PyTorch does, on a real image."""
import os.path as osp

import pytest
import torch
from mmengine.dataset import pseudo_collate

from blitznet_mm.testing.builders import (build_model, coco_mini_dataset,
                                          config_path)

CFG = 'blitznet300_bdd100k.py'


@pytest.mark.slow
def test_every_task_is_an_output_of_the_exported_graph(coco_mini, tmp_path):
    from blitznet_mm.apis import BlitzNetInferencer, init_model
    from blitznet_mm.datasets.bdd100k import BlitzNetBDD100KDataset
    from blitznet_mm.deployment import (BackendSession, ExportGraph,
                                        export_onnx, read_metadata)
    from blitznet_mm.deployment.export import onnx_export_unavailable
    if onnx_export_unavailable():
        pytest.skip(onnx_export_unavailable())
    torch.manual_seed(0)
    model = build_model(CFG).eval()
    meta = dict(BlitzNetBDD100KDataset.METAINFO)
    model.dataset_meta = meta
    graph = ExportGraph(model, (300, 300))
    assert graph.output_names == ('scores', 'boxes', 'seg_logits',
                                  'seg_logits_lane')
    path = export_onnx(graph, str(tmp_path / 'm.onnx'), meta, batch=1)
    info = read_metadata(path)
    assert info['output_names'][-1] == 'seg_logits_lane'
    assert info['seg_tasks'] == [
        dict(
            name='lane',
            num_classes=3,
            background=False,
            multi_label=True,
            threshold=0.5)
    ]
    x = torch.randn(
        1, 3, 300, 300, generator=torch.Generator().manual_seed(0)) * 50
    with torch.no_grad():
        ref = graph(x)
    outs = BackendSession(path)(x.numpy())
    assert len(outs) == 4
    lane = torch.from_numpy(outs[-1])
    assert lane.shape == ref[-1].shape == (1, 3, 75, 75)
    assert (lane - ref[-1]).abs().max() <= 1e-2

    sample = coco_mini_dataset(
        coco_mini,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(300, 300), keep_ratio=False),
            dict(type='PackDetInputs')
        ])[0]
    backend = init_model(config_path(CFG), path)
    with torch.no_grad():
        a = model.test_step(pseudo_collate([sample]))[0]
        b = backend.test_step(pseudo_collate([sample]))[0]
    assert a.pred_lane.sem_seg.shape == b.pred_lane.sem_seg.shape == \
        (3, ) + tuple(a.ori_shape)
    assert (a.pred_lane.sem_seg == b.pred_lane.sem_seg).float().mean() \
        >= 0.999
    assert (a.pred_sem_seg.sem_seg == b.pred_sem_seg.sem_seg).float().mean() \
        >= 0.999

    # the inferencer returns each task's map (arrays, or PNGs)
    inferencer = BlitzNetInferencer(
        config_path(CFG), path, device='cpu', show_progress=False)
    img = sample['data_samples'].img_path
    res = inferencer(img, return_datasamples=False)['predictions'][0]
    h, w = a.ori_shape
    assert res['sem_seg'].shape == (h, w)
    assert res['seg_tasks']['lane'].shape == (3, h, w)
    assert set(res['seg_tasks']['lane'].ravel().tolist()) <= {0, 1}
    res = inferencer(
        img, out_dir=str(tmp_path / 'out'),
        no_save_pred=False)['predictions'][0]
    png = res['seg_task_paths']['lane']
    assert osp.isfile(png) and png.endswith('_lane.png')
