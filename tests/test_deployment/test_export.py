"""Exported BlitzNet (ONNX Runtime, OpenVINO) against PyTorch on real
images: the ``trained`` model (24 steps on 4 real images) exported by
tools/deployment/export.py, run through ``BlitzNetBackendModel`` and
tools/test.py."""
import json
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.dataset import pseudo_collate

from blitznet_mm.apis import init_model
from blitznet_mm.deployment import (BackendSession, ExportGraph, export_onnx,
                                    read_metadata)
from blitznet_mm.deployment.export import onnx_export_unavailable
from blitznet_mm.testing.builders import (REPO, build_model, config_path,
                                          mask_agreement, matched_detections)
from blitznet_mm.testing.runs import data_options as _data_options
from blitznet_mm.testing.scripts import exit_message
from blitznet_mm.testing.tool_runs import run_script

CFG = config_path('blitznet300_coco_mini.py')
NO_EXPORT = onnx_export_unavailable()  # None, or why (torch < 2.5)
needs_export = pytest.mark.skipif(bool(NO_EXPORT), reason=str(NO_EXPORT))


@pytest.fixture(autouse=True)
def _skip_without_exporter(request):
    """Tests of an exported model need torch's dynamo exporter."""
    if NO_EXPORT and 'exported' in request.fixturenames:
        pytest.skip(NO_EXPORT)


def test_export_on_old_torch_names_the_torch_it_needs(monkeypatch):
    monkeypatch.setattr(torch, '__version__', '2.1.2+cu121')
    with pytest.raises(
            RuntimeError,
            match=r'ONNX export needs torch >= 2\.5 '
            r'.*this is torch 2\.1\.2\+cu121'):
        export_onnx(None, 'unused.onnx', {})


def _predict(model, samples):
    with torch.no_grad():
        return [model.test_step(pseudo_collate([s]))[0] for s in samples]


def test_export_log_names_files_and_sizes(exported):
    assert re.search(r'blitznet300_coco_mini\.xml: \d+\.\d MiB',
                     exported['log'])
    assert 'exported openvino for 300x300 inputs, batch dynamic' in \
        exported['log']
    meta = read_metadata(exported['xml'])
    assert meta == read_metadata(exported['onnx'])
    assert meta['input_size'] == [300, 300] and meta['num_classes'] == 80
    assert meta['output_names'] == ['scores', 'boxes', 'seg_logits']
    assert len(meta['dataset_meta']['classes']) == 80


@pytest.mark.slow
@pytest.mark.parametrize('backend', ['onnx', 'xml'])
def test_fp32_backend_matches_pytorch(trained, exported, backend):
    """Every fp32 top-100 detection is found with the same class, IoU >=
    0.99 and a score within 1e-4; >= 99.9% of mask pixels equal."""
    _, samples, ref = trained
    model = init_model(CFG, exported[backend])
    assert type(model).__name__ == 'BlitzNetBackendModel'
    outs = _predict(model, samples)
    for r, o in zip(ref, outs):
        assert len(r.pred_instances) > 0
        matched, idx, scores = matched_detections(r, o, 0.99)
        assert matched.all(), f'{(~matched).sum()} of {len(matched)} lost'
        torch.testing.assert_close(
            o.pred_instances.scores[idx], scores, atol=1e-4, rtol=0)
        assert mask_agreement(r, o) >= 0.999
        assert o.pred_sem_seg.sem_seg.shape == r.pred_sem_seg.sem_seg.shape


@pytest.mark.slow
def test_openvino_bf16_keeps_top100_and_masks(trained, exported):
    """The criterion of the bf16 PyTorch fast path (test_fast_inference)."""
    _, samples, ref = trained
    outs = _predict(
        init_model(CFG, exported['xml'], precision='bf16'), samples)
    rates = []
    for r, o in zip(ref, outs):
        assert mask_agreement(r, o) >= 0.99
        matched, _, scores = matched_detections(r, o, 0.9)
        assert matched[scores >= 0.5 * scores.max()].all()
        rates.append(matched_detections(r, o, 0.5)[0].float().mean().item())
    assert min(rates) >= 0.98 and sum(rates) / len(rates) >= 0.99, rates


def _test_tool(model_file, tmp_path, *extra):
    tmp_path.mkdir()
    res = run_script([
        osp.join(REPO, 'tools', 'test.py'), CFG, model_file, '--work-dir',
        str(tmp_path), *extra, '--cfg-options',
        *_data_options(osp.join(REPO, 'data', 'samples')),
        'test_dataloader.dataset.indices=4'
    ],
                     cwd=tmp_path,
                     timeout=900)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    return {
        k: float(v)
        for k, v in re.findall(
            r'(coco/bbox_mAP|coco/bbox_mAP_50|sem_seg/mIoU): (-?[\d.]+)', log)
    }


@pytest.mark.slow
def test_tools_test_scores_exported_models_as_the_checkpoint(
        exported, tmp_path):
    """tools/test.py CONFIG MODEL.onnx / .xml: the same COCO AP and mIoU as
    the checkpoint, to 3 decimals."""
    ref = _test_tool(exported['pth'], tmp_path / 'pth')
    assert set(ref) == {'coco/bbox_mAP', 'coco/bbox_mAP_50', 'sem_seg/mIoU'}
    assert ref['coco/bbox_mAP_50'] > 0  # it detects something real
    for backend in ('onnx', 'xml'):
        got = _test_tool(exported[backend], tmp_path / backend)
        assert got == pytest.approx(ref, abs=5e-4), (backend, got, ref)


def test_batch_is_dynamic_and_outputs_are_the_graphs(exported, trained):
    """Batch 3 through both runtimes: the graph's own outputs, as PyTorch
    computes them (scores to 1e-4, boxes to 0.05 px, logits to 1e-2)."""
    graph = ExportGraph(trained[0], (300, 300))
    x = torch.randn(
        3, 3, 300, 300, generator=torch.Generator().manual_seed(0)) * 50
    with torch.no_grad():
        ref = graph(x)
    for backend in ('onnx', 'xml'):
        outs = BackendSession(exported[backend])(x.numpy())
        assert [o.shape for o in outs] == [tuple(r.shape) for r in ref]
        for r, o, tol in zip(ref, outs, (1e-4, 0.05, 1e-2)):
            assert (torch.from_numpy(o) - r).abs().max() <= tol, backend


@pytest.mark.slow
@needs_export
@pytest.mark.parametrize('name,outputs',
                         [('blitznet300_voc12_det.py', ['scores', 'boxes']),
                          ('blitznet300_voc12_seg.py', ['seg_logits'])])
def test_detection_only_and_segmentation_only_export(name, outputs, tmp_path,
                                                     coco_mini):
    """ONNX Runtime's outputs on a real image equal PyTorch's (scores to
    2e-4, boxes to 0.05 px, logits to 1e-2; the random heads' scores sit
    nearer 1e-4 than the trained joint model's)."""
    from blitznet_mm.testing.builders import coco_mini_dataset
    torch.manual_seed(0)
    model = build_model(name).eval()
    graph = ExportGraph(model, (300, 300))
    path = export_onnx(
        graph,
        str(tmp_path / 'm.onnx'),
        dict(classes=[str(i) for i in range(20)]),
        batch=1)
    meta = read_metadata(path)
    assert meta['output_names'] == outputs and meta['batch'] == 1
    x = model.data_preprocessor(
        pseudo_collate([coco_mini_dataset(coco_mini)[0]]), False)['inputs']
    with torch.no_grad():
        ref = graph(x)
    outs = BackendSession(path)(x.numpy())
    assert len(outs) == len(outputs)
    tol = dict(scores=2e-4, boxes=0.05, seg_logits=1e-2)
    for n, r, o in zip(outputs, ref, outs):
        assert o.shape == tuple(r.shape)
        assert (torch.from_numpy(o) - r).abs().max() <= tol[n], n
        assert r.abs().max() > 0, n  # not an all-zero output


def test_clear_errors(exported, tmp_path):
    model = init_model(CFG, exported['onnx'])
    with pytest.raises(
            ValueError,
            match=r'exported for \[300, 300\] inputs, '
            r'got \[320, 320\]'):
        model._forward(torch.zeros(1, 3, 320, 320))
    with pytest.raises(
            ValueError, match='ONNX Runtime runs this model in '
            'fp32 only'):
        BackendSession(exported['onnx'], precision='bf16')
    cfg_voc = config_path('blitznet300_voc.py')  # 20 classes
    with pytest.raises(
            ValueError,
            match='exported with 80 classes, the '
            'config says model.num_classes=20'):
        init_model(cfg_voc, exported['onnx'])
    bare = tmp_path / 'bare.onnx'
    import onnx
    m = onnx.load(exported['onnx'])
    del m.metadata_props[:]
    onnx.save(m, str(bare))
    with pytest.raises(ValueError, match=f'{bare}: no BlitzNet metadata'):
        read_metadata(str(bare))
    with pytest.raises(FileNotFoundError, match='no such model file'):
        read_metadata(str(tmp_path / 'missing.onnx'))


def test_export_refuses_aspect_preserving_test_resize(tmp_path):
    cfg = tmp_path / 'keep_ratio.py'
    cfg.write_text(
        f"_base_ = '{CFG}'\n"
        "test_dataloader = dict(dataset=dict(pipeline=[\n"
        "    dict(type='LoadImageFromFile'),\n"
        "    dict(type='Resize', scale=(300, 300), keep_ratio=True),\n"
        "    dict(type='PackDetInputs')]))\n")
    stop = exit_message('tools/deployment/export.py', cfg, 'unused.pth',
                        '--backend', 'onnxruntime', '--out-dir', tmp_path)
    assert 'keep_ratio.py: export needs a fixed S x S input' in stop


@pytest.mark.slow
def test_image_demo_draws_with_an_exported_model(exported, tmp_path):
    folder = osp.join(REPO, 'data', 'samples', 'train2017')
    image = osp.join(folder, sorted(os.listdir(folder))[0])
    res = run_script([
        osp.join(REPO, 'demo', 'image_demo.py'), image, CFG, exported['xml'],
        '--out-dir',
        str(tmp_path), '--score-thr', '0.1'
    ],
                     timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    with open(tmp_path / 'results.json') as f:
        result = json.load(f)['results'][0]
    assert osp.isfile(result['drawn']) and result['detections']
    assert sum(result['mask_pixels'].values()) == \
        result['height'] * result['width']
