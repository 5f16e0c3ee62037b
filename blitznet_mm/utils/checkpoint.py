"""Safe loading of MMEngine runner checkpoints on torch >= 2.6.

torch loads with ``weights_only=True`` by default and mmengine 0.10.7 calls
``torch.load`` without the argument, so its own checkpoints fail to load
(``UnpicklingError ... HistoryBuffer``). Switching safe loading off would let
a checkpoint run arbitrary code. Instead:

1. the exact non-tensor types a runner checkpoint pickles (the message hub's
   ``HistoryBuffer`` and numpy arrays/scalars) are allow-listed;
2. ``HistoryBuffer`` is pickled without its default statistics functions:
   mmengine stores them as ``getattr(HistoryBuffer, 'min')`` calls, and
   allow-listing ``builtins.getattr`` would open the door to code execution.
   ``HistoryBuffer.__setstate__`` re-registers them on load anyway.

Any other pickled object is still refused by torch.
"""
import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

_DEFAULT_STATS = ('min', 'max', 'current', 'mean')
_np_core = getattr(np, '_core', None) or np.core  # numpy 2 / numpy 1


def runner_checkpoint_types() -> list:
    """The globals an mmengine 0.10 runner checkpoint needs besides tensors
    (found with ``torch.serialization.get_unsafe_globals_in_checkpoint``)."""
    dtype_classes = {type(np.dtype(t)) for t in (
        np.float64, np.float32, np.float16, np.int64, np.int32, np.int16,
        np.int8, np.uint8, np.bool_)}  # BUILD targets of pickled dtypes
    return [HistoryBuffer, np.ndarray, np.dtype,
            _np_core.multiarray._reconstruct, _np_core.multiarray.scalar,
            *sorted(dtype_classes, key=str)]


def _history_buffer_getstate(self) -> dict:
    state = {k: v for k, v in self.__dict__.items()
             if k != 'statistics_methods'}
    custom = {k: v for k, v in self._statistics_methods.items()
              if k not in _DEFAULT_STATS}
    if custom:  # user-registered statistics still pickle as before
        state['statistics_methods'] = custom
    return state


def allow_runner_checkpoints() -> None:
    """Make runner checkpoints saved from now on loadable with
    ``weights_only=True``, and allow-list :func:`runner_checkpoint_types`.
    Idempotent; called when ``blitznet_mm`` is imported."""
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    torch.serialization.add_safe_globals(runner_checkpoint_types())
