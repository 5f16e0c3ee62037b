"""Run an exported BlitzNet: ONNX Runtime for ``.onnx`` files (CPU, or an
NVIDIA GPU with ``onnxruntime-gpu``), OpenVINO for ``.xml`` (IR) files
(CPU)."""
import warnings
from typing import List, Optional, Tuple

import numpy as np

PRECISIONS = ('fp32', 'bf16')
CUDA_EP = 'CUDAExecutionProvider'
CPU_EP = 'CPUExecutionProvider'
# (backend, reason) pairs already warned about: a test loop builds one
# session, but a demo or an inferencer may build several; one warning is
# enough to say the exported model runs on the CPU
_WARNED = set()


def _warn_once(key: Tuple[str, str], message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def parse_device(device: Optional[str]) -> Tuple[str, int]:
    """``'cpu'`` / ``'cuda'`` / ``'cuda:N'`` (or None = ``'cpu'``) ->
    (type, index).

    Raises:
        ValueError: on another device type.
    """
    device = str(device or 'cpu')
    kind, _, index = device.partition(':')
    if kind not in ('cpu', 'cuda') or (index and not index.isdigit()):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got "
                         f'{device!r}')
    return kind, int(index or 0)


class BackendSession:
    """One loaded model file, called like a function on a batch.

    Args:
        model_file (str): ``.onnx`` (ONNX Runtime) or ``.xml`` (OpenVINO IR
            on the CPU plugin).
        precision (str): ``'fp32'``, or ``'bf16'`` (OpenVINO only: its
            CPU plugin computes in bf16 where the CPU has AVX512-BF16 or
            AMX). OpenVINO's own default on such CPUs is bf16; here fp32
            is asked for explicitly unless 'bf16' is given.
        num_threads (int, optional): intra-op threads (runtime default:
            all cores).
        device (str): ``'cpu'`` (default), ``'cuda'`` or ``'cuda:N'``. With
            CUDA, ONNX Runtime is asked for its CUDA execution provider
            (package ``onnxruntime-gpu``) with the CPU one as fallback;
            where that provider is missing, or ONNX Runtime falls back to
            the CPU (CUDA/cuDNN libraries not found), or the model is an
            OpenVINO IR (its 'GPU' device is Intel-only), the session runs
            on the CPU and warns once per process. ``self.device`` says
            where it actually runs.

    Raises:
        ValueError: on an unknown extension, precision or device, or bf16
            with ONNX Runtime (its CPU provider has no bf16 convolutions).
    """

    def __init__(self,
                 model_file: str,
                 precision: str = 'fp32',
                 num_threads: Optional[int] = None,
                 device: str = 'cpu'):
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got '
                             f'{precision!r}')
        self.model_file, self.precision = model_file, precision
        kind, index = parse_device(device)
        self.device = 'cpu'
        if model_file.lower().endswith('.onnx'):
            if precision != 'fp32':
                raise ValueError(f'{model_file}: ONNX Runtime runs this model '
                                 'in fp32 only; use the OpenVINO IR (.xml) '
                                 'for bf16')
            self._ort = self._onnxruntime(model_file, num_threads, kind, index)
            self.backend = 'onnxruntime'
        elif model_file.lower().endswith('.xml'):
            import openvino as ov
            config = {
                'INFERENCE_PRECISION_HINT':
                'f32' if precision == 'fp32' else 'bf16',
                'PERFORMANCE_HINT': 'LATENCY'
            }
            if num_threads:
                config['INFERENCE_NUM_THREADS'] = num_threads
            if kind == 'cuda':
                # OpenVINO's 'GPU' device is its Intel GPU plugin (integrated
                # and Arc GPUs); it does not drive NVIDIA GPUs, so a CUDA
                # request stays on the CPU plugin
                _warn_once(('openvino', 'cuda'), f'{model_file}: OpenVINO '
                           "runs on the CPU here (its 'GPU' device is for "
                           'Intel GPUs; NVIDIA GPUs are not supported); '
                           'export to ONNX and install onnxruntime-gpu to '
                           'run an exported model on CUDA')
            self._ov = ov.Core().compile_model(model_file, 'CPU', config)
            self._request = self._ov.create_infer_request()
            self.backend = 'openvino'
        else:
            raise ValueError(f'{model_file}: not an exported model (.onnx '
                             'or .xml)')

    def _onnxruntime(self, model_file, num_threads, kind, index):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = num_threads
        providers = [CPU_EP]
        if kind == 'cuda':
            if CUDA_EP in ort.get_available_providers():
                providers = [(CUDA_EP, {'device_id': index}), CPU_EP]
            else:
                _warn_once(('onnxruntime', 'no-cuda-ep'), f'{model_file}: '
                           f'device cuda asked for, but this onnxruntime has '
                           f'no {CUDA_EP} (install onnxruntime-gpu in place '
                           'of onnxruntime); running on the CPU')
        sess = ort.InferenceSession(model_file, opts, providers=providers)
        if kind == 'cuda' and len(providers) > 1:
            # ORT drops a provider whose libraries fail to load with only a
            # log line: the session's first provider is what really runs
            if sess.get_providers()[0] == CUDA_EP:
                self.device = f'cuda:{index}'
            else:
                _warn_once(('onnxruntime', 'cuda-fallback'), f'{model_file}: '
                           f'onnxruntime could not start {CUDA_EP} (CUDA / '
                           'cuDNN libraries missing or mismatched?); running '
                           f'on {sess.get_providers()[0]}')
        return sess

    def __call__(self, inputs: np.ndarray) -> List[np.ndarray]:
        """(N, 3, H, W) float32 -> the graph's outputs, in order, as host
        arrays (with the CUDA provider ONNX Runtime copies the batch to the
        GPU and the outputs back)."""
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        if self.backend == 'onnxruntime':
            return self._ort.run(None, {'inputs': inputs})
        result = self._request.infer({0: inputs})
        return [np.asarray(result[out]) for out in self._ov.outputs]
