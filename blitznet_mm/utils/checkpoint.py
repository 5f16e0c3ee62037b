"""Safe loading of MMEngine runner checkpoints on torch >= 2.6.

torch loads with ``weights_only=True`` by default and mmengine 0.10.7 calls
``torch.load`` without the argument, so its own checkpoints fail to load
(``UnpicklingError ... HistoryBuffer``). Switching safe loading off would let
a checkpoint run arbitrary code. Instead:

1. the exact non-tensor types a runner checkpoint pickles (the message hub's
   ``HistoryBuffer`` and numpy arrays/scalars) are allow-listed;
2. mmengine pickles the message hub's default statistics as
   ``getattr(HistoryBuffer, 'min')`` calls. Allow-listing ``builtins.getattr``
   would open the door to code execution, so the unpickler's
   ``builtins.getattr`` is :func:`history_buffer_statistic`, which performs
   exactly ``getattr(HistoryBuffer, s)`` for s in min, max, current, mean
   and refuses every other look-up: checkpoints written by a stock mmengine
   run load too. Checkpoints saved with ``blitznet_mm`` imported leave those
   calls out (``HistoryBuffer.__setstate__`` re-registers the defaults).

Any other pickled object is still refused by torch.

3. local checkpoint files load through :func:`load_checkpoint_file`, which
   turns refused, truncated and corrupt files into a :class:`CheckpointError`
   that names the file and the problem (issue 7).
"""
import os.path as osp
import pickle
import re
import zipfile

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


_REFUSED = 'refused attribute look-up'


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
        f'{_REFUSED} getattr({getattr(obj, "__qualname__", type(obj))}, '
        f'{name!r})')


def _history_buffer_getstate(self) -> dict:
    state = {k: v for k, v in self.__dict__.items()
             if k != 'statistics_methods'}
    custom = {k: v for k, v in self._statistics_methods.items()
              if k not in _DEFAULT_STATS}
    if custom:  # user-registered statistics still pickle as before
        state['statistics_methods'] = custom
    return state


def _reason(e: Exception) -> str:
    """The informative line of torch's long weights-only message."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    for ln in lines:
        if not ln.startswith(('Weights only load failed', 'Check the doc')):
            return ln
    return lines[0] if lines else type(e).__name__


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be loaded: truncated, corrupt, or not a
    PyTorch checkpoint. The message names the file."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint that pickles an object outside the allow-list (loading
    it without safe loading could run code). Nothing was executed."""


def load_checkpoint_file(filename: str, map_location=None):
    """Loads a local checkpoint with torch's safe (``weights_only``) loading.

    Zip checkpoints (torch >= 1.6) have their CRC-32 checked first, so a
    flipped bit in the weights is caught instead of loading silently.

    Args:
        filename (str): Path of the ``.pth`` file.
        map_location: As in :func:`torch.load`.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: it pickles a disallowed object.
        CheckpointError: empty, truncated, corrupt or not a checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    size = osp.getsize(filename)
    hint = ('an interrupted save or download? Resume from the previous '
            'checkpoint or download it again')
    if size == 0:
        raise CheckpointError(f'{filename}: empty file (0 bytes); {hint}')
    if zipfile.is_zipfile(filename):
        try:
            with zipfile.ZipFile(filename) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise CheckpointError(
                f'{filename}: corrupt checkpoint archive ({e}); {hint}'
            ) from None
        if bad is not None:
            raise CheckpointError(
                f'{filename}: corrupt checkpoint: record {bad!r} fails its '
                f'CRC-32 check ({size} bytes); {hint}')
    else:
        with open(filename, 'rb') as f:
            magic = f.read(2)
        if magic[:1] != b'\x80':  # neither a zip nor a pickle
            raise CheckpointError(
                f'{filename}: not a PyTorch checkpoint, or truncated '
                f'({size} bytes, starts with {magic!r}); {hint}')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r'[Uu]nsupported (?:global: )?GLOBAL ([\w.]+)',
                          str(e)) or re.search(
                              rf'{_REFUSED} (getattr\([^)]*\))', str(e))
        if found:
            raise UnsafeCheckpointError(
                f'{filename}: refused: it pickles {found.group(1)}, which '
                'is not a type runner checkpoints contain (loading it '
                'unsafely could run code; nothing was executed). Only load '
                'checkpoints you trust.') from None
        raise CheckpointError(f'{filename}: corrupt checkpoint '
                              f'({_reason(e)}); {hint}') from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f'{filename}: truncated or corrupt checkpoint '
                              f'({size} bytes): {str(e).splitlines()[0]}; '
                              f'{hint}') from None


def allow_runner_checkpoints() -> None:
    """Make runner checkpoints saved from now on loadable with
    ``weights_only=True``, allow-list :func:`runner_checkpoint_types`, and
    load local checkpoints (``load_from``, ``--resume``, ``tools/test.py``)
    through :func:`load_checkpoint_file`. Idempotent; called when
    ``blitznet_mm`` is imported."""
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    torch.serialization.add_safe_globals(
        runner_checkpoint_types()
        + [(history_buffer_statistic, 'builtins.getattr')])
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file,
                                     force=True)
