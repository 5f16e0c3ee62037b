"""Export a BlitzNet to ONNX (torch's exporter) and to OpenVINO IR (its
converter, from the ONNX file), with the facts a runtime needs stored in
the model file itself (docs/deployment.md)."""
import json
import os
import os.path as osp
from typing import Optional, Union

import torch

from ..structures.seg_labels import SegLabelSet
from .graph import ExportGraph

META_KEY = 'blitznet'
EXPORTED_EXTS = ('.onnx', '.xml')

# torch.onnx.export(dynamo=True, dynamic_shapes=...) and ONNXProgram.save
# appeared in torch 2.5 (tested with 2.13)
EXPORT_MIN_TORCH = (2, 5)


def onnx_export_unavailable() -> Optional[str]:
    """Why :func:`export_onnx` cannot run with this torch, or None."""
    have = tuple(int(p) for p in torch.__version__.split('.')[:2])
    if have < EXPORT_MIN_TORCH:
        return (f'ONNX export needs torch >= 2.5 (torch.onnx.export with '
                f'dynamo=True); this is torch {torch.__version__}')
    return None


def is_exported_model(path: str) -> bool:
    """True for an ONNX (``.onnx``) or OpenVINO IR (``.xml``) file name."""
    return str(path).lower().endswith(EXPORTED_EXTS)


def export_onnx(graph: ExportGraph,
                path: str,
                dataset_meta: dict,
                batch: Union[str, int] = 'dynamic',
                opset: int = 18) -> str:
    """Write ``graph`` to ``path`` as ONNX with its metadata.

    Args:
        graph (ExportGraph): the network for one S x S input.
        path (str): the ``.onnx`` file to write.
        dataset_meta (dict): ``classes`` (and ``palette``) and the
            segmentation set (``seg_classes``, ``seg_background``,
            ``seg_palette``) kept in the file, so a demo names and colours
            classes as the checkpoint did.
        batch (str | int): ``'dynamic'`` (any batch size at run time) or a
            fixed batch size.
        opset (int): ONNX opset.

    torch's ``torch.export``-based exporter (``dynamo=True``, the default of
    torch >= 2.9) is used. The TorchScript exporter cannot export this
    graph with mmdet 3.3: under it, ``DeltaXYWHBBoxCoder.decode`` takes an
    ONNX branch that imports the removed ``mmdet.core``
    (docs/deployment.md).

    Returns:
        str: ``path``.

    Raises:
        RuntimeError: with torch < 2.5 (:func:`onnx_export_unavailable`).
        ValueError: on a batch that is neither 'dynamic' nor a positive int,
            or a ``dataset_meta`` whose segmentation set has another number
            of labels than the model's segmentation outputs.
    """
    if onnx_export_unavailable():
        raise RuntimeError(onnx_export_unavailable())
    if batch != 'dynamic' and not (isinstance(batch, int) and batch > 0):
        raise ValueError(f"batch must be 'dynamic' or a positive int, "
                         f'got {batch!r}')
    seg_meta = _seg_meta(graph.model, dataset_meta)
    n = 2 if batch == 'dynamic' else batch
    # on the model's device: the priors and weights live there
    dummy = torch.zeros(
        n, 3, *graph.input_size, device=next(graph.model.parameters()).device)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    dynamic = None
    if batch == 'dynamic':
        dynamic = ({0: torch.export.Dim('batch', min=1, max=1024)}, )
    with torch.no_grad():
        program = torch.onnx.export(
            graph, (dummy, ),
            dynamo=True,
            input_names=['inputs'],
            output_names=list(graph.output_names),
            opset_version=opset,
            dynamic_shapes=dynamic,
            verbose=False)
    program.save(path, external_data=False)
    meta = dict(
        input_size=list(graph.input_size),
        output_names=list(graph.output_names),
        num_classes=graph.model.num_classes,
        num_anchors=graph.num_anchors,
        **seg_meta,
        batch=batch,
        dataset_meta=_jsonable(dataset_meta))
    _write_onnx_meta(path, meta)
    return path


def _seg_meta(model, dataset_meta: Optional[dict]) -> dict:
    """``seg_num_classes``, ``seg_background`` and ``seg_outputs`` (K) of
    the model, checked against the set ``dataset_meta`` names."""
    if not getattr(model, 'with_seg', False):
        return {}
    out = dict(
        seg_num_classes=model.seg_num_classes,
        seg_background=model.seg_background,
        seg_outputs=model.num_seg_outputs)
    if getattr(model, 'seg_tasks', ()):  # docs/multi_task.md
        out['seg_tasks'] = [
            dict(
                name=t.name,
                num_classes=t.num_classes,
                background=t.background,
                multi_label=t.multi_label,
                threshold=getattr(model.task_heads[t.name], 'threshold', None))
            for t in model.seg_tasks
        ]
    meta = dataset_meta or {}
    if meta.get('seg_classes') or meta.get('classes'):
        labels = SegLabelSet.from_metainfo(meta)
        if labels.num_outputs != out['seg_outputs']:
            raise ValueError(
                f'the model segments {out["seg_outputs"]} labels '
                f'(model.seg_num_classes={model.seg_num_classes}, '
                f'seg_background={model.seg_background}) but its dataset_meta '
                f'names {labels.num_outputs} ({labels.describe()})')
    return out


def _jsonable(dataset_meta: Optional[dict]) -> dict:
    meta = dict(dataset_meta or {})
    out = {}
    for key in ('classes', 'palette', 'seg_classes', 'seg_palette'):
        if meta.get(key) is not None:
            out[key] = [
                list(v) if isinstance(v, (tuple, list)) else v
                for v in meta[key]
            ]
    if meta.get('seg_background') is not None:
        out['seg_background'] = bool(meta['seg_background'])
    return out


def _write_onnx_meta(path: str, meta: dict) -> None:
    import onnx
    model = onnx.load(path)
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta)
    onnx.save(model, path)


def export_openvino(onnx_path: str, xml_path: str) -> str:
    """Convert an exported ONNX file to OpenVINO IR (``.xml`` + ``.bin``),
    weights kept in fp32 (OpenVINO's converter stores fp16 by default; the
    run-time precision is chosen when the model is loaded).

    Returns:
        str: ``xml_path``.
    """
    import openvino as ov
    model = ov.convert_model(onnx_path)
    model.set_rt_info(json.dumps(read_metadata(onnx_path)), [META_KEY, 'meta'])
    ov.save_model(model, xml_path, compress_to_fp16=False)
    return xml_path


def read_metadata(path: str) -> dict:
    """The metadata :func:`export_onnx` stored in an ``.onnx`` or ``.xml``
    file: ``input_size`` [H, W], ``output_names``, ``num_classes``,
    ``num_anchors``, ``batch``, ``dataset_meta``, and for a segmenting model
    ``seg_num_classes``, ``seg_background`` and ``seg_outputs`` (K, the
    channels of ``seg_logits``).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if it is not an exported BlitzNet (no metadata), naming
            the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such model file')
    raw = None
    if path.lower().endswith('.onnx'):
        import onnx
        model = onnx.load(path, load_external_data=False)
        raw = {p.key: p.value for p in model.metadata_props}.get(META_KEY)
    elif path.lower().endswith('.xml'):
        import openvino as ov
        model = ov.Core().read_model(path)
        if model.has_rt_info([META_KEY, 'meta']):
            raw = model.get_rt_info([META_KEY, 'meta']).astype(str)
    else:
        raise ValueError(f'{path}: not an exported model (.onnx or .xml)')
    if raw is None:
        raise ValueError(f'{path}: no BlitzNet metadata; export it with '
                         'tools/deployment/export.py')
    return json.loads(raw)
