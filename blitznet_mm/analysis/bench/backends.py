"""Exported-model rows: the same model exported once, run by ONNX Runtime
and OpenVINO, timed end to end with the post-processing shared with the
PyTorch path (blitznet_mm/deployment)."""
import os.path as osp
import tempfile
import time

import torch
from mmengine.config import Config

from blitznet_mm.deployment import (BlitzNetBackendModel, ExportGraph,
                                    export_onnx, export_openvino)
from .machine import sync


def has_bf16(device) -> bool:
    """OpenVINO's CPU plugin runs bf16 on AVX512-BF16 or AMX."""
    if device.type != 'cpu':
        return False
    with open('/proc/cpuinfo') as f:
        flags = f.read()
    return 'avx512_bf16' in flags or 'amx_bf16' in flags


def staged_backend(model, inputs, samples):
    """One end-to-end inference of a ``BlitzNetBackendModel``: the exported
    graph (network, softmax, box decoding), then per-class NMS and the
    label maps; returns {stage: seconds}."""
    t, clock = {}, [time.perf_counter()]

    def lap(stage):
        now = time.perf_counter()
        t[stage] = now - clock[0]
        clock[0] = now

    outs = dict(zip(model.meta['output_names'], model._forward(inputs)))
    lap('graph')
    model.fill_detections(outs, samples, rescale=True)
    lap('decode+nms')
    model.fill_label_maps(outs, samples)
    lap('mask')
    return t


def exported_paths(model, config, size, device, out_dir=None, onnx=None):
    """Export ``model`` (built from ``config``) for size x size inputs and
    return {path name: BlitzNetBackendModel}, names starting with the
    precision ('fp32 onnxruntime', 'fp32 openvino', 'bf16 openvino'), plus
    the export facts (seconds, MiB). ``onnx``: an export of these weights
    already made by tools/deployment/export.py (its ``.onnx``, with the
    OpenVINO ``.xml`` beside it), run instead of exporting again (the smoke
    test reuses the test suite's).

    Raises:
        FileNotFoundError: ``onnx`` or the ``.xml`` beside it is missing.
    """
    if onnx is not None:
        xml = osp.splitext(onnx)[0] + '.xml'
        for path in (onnx, xml):
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{path}: no such export (--exported wants the .onnx '
                    'of tools/deployment/export.py --backend openvino)')
        onnx_path, facts = onnx, dict(reused=onnx)
    else:
        onnx_path, xml, facts = _export(model, size, out_dir)
    cfg = Config.fromfile(config).model
    common = dict(
        data_preprocessor=cfg.data_preprocessor,
        test_cfg=cfg.test_cfg,
        num_threads=torch.get_num_threads())
    paths = {
        'fp32 onnxruntime': BlitzNetBackendModel(onnx_path, **common),
        'fp32 openvino': BlitzNetBackendModel(xml, **common)
    }
    if has_bf16(device):
        paths['bf16 openvino'] = BlitzNetBackendModel(
            xml, precision='bf16', **common)
    sync(device)
    return paths, facts


def _export(model, size, out_dir):
    """ONNX and OpenVINO IR of ``model`` in ``out_dir`` (a temporary folder
    by default): (onnx path, xml path, facts)."""
    out_dir = out_dir or tempfile.mkdtemp(prefix='blitznet_export_')
    model = model.cpu().eval()
    onnx_path = osp.join(out_dir, 'model.onnx')
    t0 = time.perf_counter()
    export_onnx(
        ExportGraph(model, (size, size)), onnx_path,
        getattr(model, 'dataset_meta', None) or {})
    t1 = time.perf_counter()
    xml = export_openvino(onnx_path, osp.join(out_dir, 'model.xml'))
    t2 = time.perf_counter()
    return onnx_path, xml, dict(
        onnx_export_s=t1 - t0,
        openvino_convert_s=t2 - t1,
        onnx_mib=osp.getsize(onnx_path) / 2**20,
        openvino_mib=(osp.getsize(xml) + osp.getsize(xml[:-4] + '.bin')) /
        2**20)
