"""Exported models asked to run on CUDA (``BackendSession(device=...)``,
``BlitzNetBackendModel(device=...)``): on this CPU-only machine (the
CPU-only onnxruntime, OpenVINO, whose 'GPU' device is Intel-only) they run
on the CPU, say so once per process, and give the CPU outputs."""
import warnings

import numpy as np
import pytest
import torch

from blitznet_mm.deployment import (BackendSession, ExportGraph, export_onnx,
                                    export_openvino, runtime)
from blitznet_mm.deployment.export import onnx_export_unavailable
from blitznet_mm.testing.builders import build_model, load_cfg

pytestmark = pytest.mark.skipif(
    bool(onnx_export_unavailable()), reason=str(onnx_export_unavailable()))

SIZE = 160  # the graph is fully convolutional: a small input exports alike


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """A random BlitzNet300 s4 (COCO head) exported for 160 x 160 inputs:
    dict(onnx=..., xml=...)."""
    torch.manual_seed(0)
    model = build_model('blitznet300_coco.py').eval()
    out = tmp_path_factory.mktemp('runtime_device')
    onnx = export_onnx(
        ExportGraph(model, (SIZE, SIZE)), str(out / 'm.onnx'), {})
    return dict(onnx=onnx, xml=export_openvino(onnx, str(out / 'm.xml')))


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Each test sees the first warning of the process again."""
    monkeypatch.setattr(runtime, '_WARNED', set())


def _inputs(n=2):
    g = torch.Generator().manual_seed(1)
    return (torch.randn(n, 3, SIZE, SIZE, generator=g) * 50).numpy()


def _runtime_warnings(caught):
    return [
        w for w in caught
        if issubclass(w.category, RuntimeWarning) and 'CPU' in str(w.message)
    ]


@pytest.mark.slow
@pytest.mark.parametrize('backend', ['onnx', 'xml'])
def test_cuda_request_runs_on_cpu_warns_once_same_outputs(
        files, backend, fresh_warnings):
    if backend == 'onnx':
        import onnxruntime as ort
        if runtime.CUDA_EP in ort.get_available_providers() and \
                torch.cuda.is_available():
            pytest.skip('onnxruntime-gpu with a GPU: see the cuda test')
    x = _inputs()
    ref = BackendSession(files[backend])(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        sessions = [
            BackendSession(files[backend], device='cuda'),
            BackendSession(files[backend], device='cuda:0')
        ]
        outs = [s(x) for s in sessions for _ in range(2)]
    msgs = _runtime_warnings(caught)
    assert len(msgs) == 1, [str(w.message) for w in msgs]
    text = str(msgs[0].message)
    assert ('onnxruntime-gpu' in text) if backend == 'onnx' else \
        ('Intel' in text and 'NVIDIA' in text)
    assert all(s.device == 'cpu' for s in sessions)
    for out in outs:  # the same provider: the same numbers
        assert len(out) == len(ref)
        for o, r in zip(out, ref):
            np.testing.assert_array_equal(o, r)


@pytest.mark.slow
def test_backend_model_follows_a_cuda_batch_once(files, fresh_warnings):
    """device=None follows the batch: a CUDA batch makes the session once
    more for CUDA (here it stays on the CPU, one warning); device='cuda'
    asks at once. Outputs stay host tensors, as with the CPU provider."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from blitznet_mm.deployment import backend_model_cfg
    register_all_modules()
    cfg = load_cfg('blitznet300_coco.py')
    follow = MODELS.build(backend_model_cfg(cfg.model, files['onnx']))
    x = torch.from_numpy(_inputs(1))
    ref = follow._forward(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        first = follow.session_for(torch.device('cuda'))
        assert follow.session_for(torch.device('cuda')) is first
        fixed = MODELS.build(
            backend_model_cfg(cfg.model, files['onnx'], device='cuda'))
    assert len(_runtime_warnings(caught)) == 1
    assert first.device == 'cpu' and fixed.session.device == 'cpu'
    for model in (follow, fixed):
        outs = model._forward(x)
        assert [o.device.type for o in outs] == ['cpu'] * len(ref)
        for o, r in zip(outs, ref):
            torch.testing.assert_close(o, r, rtol=0, atol=0)


def test_device_names_are_checked():
    assert runtime.parse_device(None) == ('cpu', 0)
    assert runtime.parse_device('cuda:1') == ('cuda', 1)
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda'"):
        BackendSession('m.onnx', device='gpu')


@pytest.mark.cuda
@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_provider_is_used_where_installed(files, fresh_warnings):
    import onnxruntime as ort
    if runtime.CUDA_EP not in ort.get_available_providers():
        pytest.skip('onnxruntime without CUDAExecutionProvider')
    x = _inputs()
    sess = BackendSession(files['onnx'], device='cuda')
    assert sess.device == 'cuda:0'
    assert sess._ort.get_providers()[0] == runtime.CUDA_EP
    for o, r in zip(sess(x), BackendSession(files['onnx'])(x)):
        np.testing.assert_allclose(o, r, atol=1e-2, rtol=1e-3)
