"""Export to ONNX / OpenVINO and inference with the exported models
(docs/deployment.md)."""
from .backend_model import BlitzNetBackendModel, backend_model_cfg
from .export import (export_onnx, export_openvino, is_exported_model,
                     read_metadata)
from .graph import OUTPUT_NAMES, ExportGraph
from .quantize import quantize_openvino
from .runtime import BackendSession

__all__ = [
    'BlitzNetBackendModel', 'backend_model_cfg', 'export_onnx',
    'export_openvino', 'is_exported_model', 'read_metadata', 'OUTPUT_NAMES',
    'ExportGraph', 'BackendSession', 'quantize_openvino'
]
