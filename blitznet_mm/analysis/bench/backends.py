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


def exported_paths(model, config, size, device, out_dir=None):
    """Export ``model`` (built from ``config``) for size x size inputs and
    return {path name: BlitzNetBackendModel}, names starting with the
    precision ('fp32 onnxruntime', 'fp32 openvino', 'bf16 openvino'), plus
    the export facts (seconds, MiB)."""
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
    facts = dict(
        onnx_export_s=t1 - t0,
        openvino_convert_s=t2 - t1,
        onnx_mib=osp.getsize(onnx_path) / 2**20,
        openvino_mib=(osp.getsize(xml) + osp.getsize(xml[:-4] + '.bin')) /
        2**20)
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
