"""Run an exported BlitzNet on CPU: ONNX Runtime for ``.onnx`` files,
OpenVINO for ``.xml`` (IR) files."""
from typing import List, Optional

import numpy as np

PRECISIONS = ('fp32', 'bf16')


class BackendSession:
    """One loaded model file, called like a function on a batch.

    Args:
        model_file (str): ``.onnx`` (ONNX Runtime, CPU execution provider)
            or ``.xml`` (OpenVINO IR on the CPU plugin).
        precision (str): ``'fp32'``, or ``'bf16'`` (OpenVINO only: its
            CPU plugin computes in bf16 where the CPU has AVX512-BF16 or
            AMX). OpenVINO's own default on such CPUs is bf16; here fp32
            is asked for explicitly unless 'bf16' is given.
        num_threads (int, optional): intra-op threads (runtime default:
            all cores).

    Raises:
        ValueError: on an unknown extension or precision, or bf16 with
            ONNX Runtime (its CPU provider has no bf16 convolutions).
    """

    def __init__(self, model_file: str, precision: str = 'fp32',
                 num_threads: Optional[int] = None):
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got '
                             f'{precision!r}')
        self.model_file, self.precision = model_file, precision
        if model_file.lower().endswith('.onnx'):
            if precision != 'fp32':
                raise ValueError(f'{model_file}: ONNX Runtime runs this model '
                                 'in fp32 only; use the OpenVINO IR (.xml) '
                                 'for bf16')
            import onnxruntime as ort
            opts = ort.SessionOptions()
            if num_threads:
                opts.intra_op_num_threads = num_threads
            self._ort = ort.InferenceSession(
                model_file, opts, providers=['CPUExecutionProvider'])
            self.backend = 'onnxruntime'
        elif model_file.lower().endswith('.xml'):
            import openvino as ov
            config = {'INFERENCE_PRECISION_HINT':
                      'f32' if precision == 'fp32' else 'bf16',
                      'PERFORMANCE_HINT': 'LATENCY'}
            if num_threads:
                config['INFERENCE_NUM_THREADS'] = num_threads
            self._ov = ov.Core().compile_model(model_file, 'CPU', config)
            self._request = self._ov.create_infer_request()
            self.backend = 'openvino'
        else:
            raise ValueError(f'{model_file}: not an exported model (.onnx '
                             'or .xml)')

    def __call__(self, inputs: np.ndarray) -> List[np.ndarray]:
        """(N, 3, H, W) float32 -> the graph's outputs, in order."""
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        if self.backend == 'onnxruntime':
            return self._ort.run(None, {'inputs': inputs})
        result = self._request.infer({0: inputs})
        return [np.asarray(result[out]) for out in self._ov.outputs]
