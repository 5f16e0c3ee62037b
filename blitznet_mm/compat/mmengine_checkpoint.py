"""Works around: mmengine 0.10.7 calls ``torch.load`` without
``weights_only`` while torch >= 2.6 loads with ``weights_only=True`` by
default, so the runner's own checkpoints fail to load (``UnpicklingError ...
HistoryBuffer``). Still needed with mmengine 0.10.7, the last release (no
release passes ``weights_only`` or registers its types).

Switching safe loading off would let a checkpoint run arbitrary code.
Instead:

1. the exact non-tensor types a runner checkpoint pickles (the message hub's
   ``HistoryBuffer`` and numpy arrays/scalars) are allow-listed;
2. mmengine pickles the message hub's default statistics as
   ``getattr(HistoryBuffer, 'min')`` calls. Allow-listing ``builtins.getattr``
   would open the door to code execution, so the unpickler's
   ``builtins.getattr`` is :func:`history_buffer_statistic`, which performs
   exactly ``getattr(HistoryBuffer, s)`` for s in min, max, current, mean
   and refuses every other look-up: checkpoints written by a stock mmengine
   run load too. Checkpoints saved with ``blitznet_mm`` imported leave those
   calls out (``HistoryBuffer.__setstate__`` re-registers the defaults);
3. local files load through ``blitznet_mm.utils.load_checkpoint_file``
   (clear errors for refused, truncated and corrupt files).
"""
import pickle

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader

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


REFUSED = 'refused attribute look-up'


def history_buffer_statistic(obj, name: str):
    """The only ``getattr`` a checkpoint may call while unpickling:
    ``getattr(HistoryBuffer, name)`` for a default statistic.

    Raises:
        pickle.UnpicklingError: for any other object or attribute (nothing
            is looked up).
    """
    if obj is HistoryBuffer and name in _DEFAULT_STATS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'{REFUSED} getattr({getattr(obj, "__qualname__", type(obj))}, '
        f'{name!r})')


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
    ``weights_only=True``, allow-list :func:`runner_checkpoint_types`, and
    load local checkpoints (``load_from``, ``--resume``, ``tools/test.py``)
    through :func:`load_checkpoint_file`. Idempotent; called when
    ``blitznet_mm`` is imported."""
    from ..utils.checkpoint import load_checkpoint_file
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    torch.serialization.add_safe_globals(
        runner_checkpoint_types()
        + [(history_buffer_statistic, 'builtins.getattr')])
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file,
                                     force=True)
