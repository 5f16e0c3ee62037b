"""The COCO-Stuff (171 segmentation outputs) and COCO panoptic (133)
models export: the file carries the segmentation set, ONNX Runtime gives
the graph's logits, and the exported model predicts labels of that set on a
real image as PyTorch does."""
import os
import os.path as osp

import mmcv
import pytest
import torch
from mmengine.dataset import pseudo_collate

from blitznet_mm.apis import BlitzNetInferencer, init_model
from blitznet_mm.deployment import (BackendSession, ExportGraph, export_onnx,
                                    read_metadata)
from blitznet_mm.deployment.export import onnx_export_unavailable
from blitznet_mm.testing.builders import (build_model, coco_mini_dataset,
                                          config_path)

pytestmark = pytest.mark.skipif(
    bool(onnx_export_unavailable()), reason=str(onnx_export_unavailable()))


def _dataset_meta(name):
    from blitznet_mm.datasets import (BlitzNetCocoPanopticDataset,
                                      BlitzNetCocoStuffDataset)
    cls = dict(
        stuff=BlitzNetCocoStuffDataset,
        panoptic=BlitzNetCocoPanopticDataset)[name]
    return dict(cls.METAINFO)


@pytest.mark.slow
@pytest.mark.parametrize('name,outputs', [('stuff', 171), ('panoptic', 133)])
def test_seg_set_model_exports_with_its_set(name, outputs, coco_mini,
                                            tmp_path):
    cfg = config_path(f'blitznet300_coco_{name}.py')
    torch.manual_seed(0)
    # the small network: the set's outputs and metadata are the subject
    model = build_model(f'blitznet300_coco_{name}.py', small=True).eval()
    meta = _dataset_meta(name)
    model.dataset_meta = meta
    assert model.num_seg_outputs == outputs == len(meta['seg_classes'])
    with pytest.raises(
            ValueError,
            match=f'segments {outputs} labels .* '
            r'names 81 \(80 classes \+ background\)'):
        export_onnx(
            ExportGraph(model, (300, 300)), str(tmp_path / 'x.onnx'),
            dict(classes=meta['classes']))
    graph = ExportGraph(model, (300, 300))
    path = export_onnx(graph, str(tmp_path / 'm.onnx'), meta, batch=1)
    info = read_metadata(path)
    assert (info['seg_outputs'], info['seg_num_classes'],
            info['seg_background']) == (outputs, outputs, False)
    assert info['dataset_meta']['seg_classes'] == list(meta['seg_classes'])
    assert len(info['dataset_meta']['classes']) == info['num_classes'] == 80
    x = torch.randn(
        1, 3, 300, 300, generator=torch.Generator().manual_seed(0)) * 50
    with torch.no_grad():
        ref = graph(x)[-1]
    logits = torch.from_numpy(BackendSession(path)(x.numpy())[-1])
    assert logits.shape == ref.shape == (1, outputs, 75, 75)
    assert (logits - ref).abs().max() <= 1e-2

    # the exported model: the set from the file, labels as PyTorch's
    backend = init_model(cfg, path)
    assert backend.dataset_meta['seg_classes'] == tuple(meta['seg_classes'])
    assert (backend.seg_num_classes, backend.seg_background) == (outputs,
                                                                 False)
    sample = coco_mini_dataset(
        coco_mini,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(300, 300), keep_ratio=False),
            dict(type='PackDetInputs')
        ])[0]
    with torch.no_grad():
        a = model.test_step(pseudo_collate([sample]))[0].pred_sem_seg.sem_seg
        b = backend.test_step(pseudo_collate([sample]))[0].pred_sem_seg.sem_seg
    assert a.max() < outputs and (a == b).float().mean() >= 0.999
    with pytest.raises(
            ValueError,
            match=f'exported with seg_num_classes='
            f'{outputs}, the config says model.seg_num_classes=80'):
        init_model(config_path('blitznet300_coco.py'), path)

    # the inferencer names the labels from the file
    inferencer = BlitzNetInferencer(
        cfg, path, device='cpu', show_progress=False)
    assert inferencer.seg_classes == tuple(meta['seg_classes'])
    folder = osp.join(coco_mini, 'train2017')
    image = osp.join(folder, sorted(os.listdir(folder))[0])
    pred = inferencer(image, no_save_vis=True)['predictions'][0]
    assert pred['sem_seg'].shape == mmcv.imread(image).shape[:2]
    assert pred['sem_seg'].dtype.name == 'uint8'
    assert pred['sem_seg'].max() < outputs
