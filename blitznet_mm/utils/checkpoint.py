"""Safe loading of local checkpoint files, with clear errors.

Only tensors and the exact other objects an mmengine 0.10 runner checkpoint
pickles are accepted (:func:`runner_checkpoint_types`: the message hub's
``HistoryBuffer``, numpy arrays, dtypes and scalars, and the four
``getattr(HistoryBuffer, 'min'|'max'|'current'|'mean')`` look-ups stock
mmengine pickles, through :func:`history_buffer_statistic`). Any other class
or function (``os.system``, ``getattr(HistoryBuffer, '__init__')``, ...) is
refused before it runs. How depends on the torch version
(:func:`torch_has_allow_list`):

- torch >= 2.6: torch's own weights-only unpickler, with the allow-list
  given through ``torch.serialization.safe_globals`` for that one
  ``torch.load`` (the context manager is torch 2.5, its ``(obj, 'name')``
  entries, needed to stand in for ``builtins.getattr``, torch 2.6);
- older torch (2.0 - 2.5): its weights-only unpickler takes no extra types,
  so ``torch.load`` gets a restricted ``pickle_module``
  (:func:`restricted_pickle_module`) that resolves only torch's weights-only
  globals plus the allow-list.

Nothing is changed process-wide: torch's global allow-list, mmengine's
classes and ``builtins`` stay as they are. This module imports nothing from
``blitznet_mm.compat``; ``compat`` routes mmengine's ``CheckpointLoader``
here.
"""
import codecs
import functools
import importlib
import os
import os.path as osp
import pickle
import re
import types
import zipfile
from collections import Counter, OrderedDict

import _compat_pickle
import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

_DEFAULT_STATS = ('min', 'max', 'current', 'mean')
REFUSED = 'refused attribute look-up'
_REFUSED_STATE = 'state set on a'
_TORCH = tuple(
    int(p) for p in re.match(r'(\d+)\.(\d+)', torch.__version__).groups())


def torch_has_allow_list() -> bool:
    """Whether this torch's weights-only loader can take the allow-list for
    one call: ``torch.serialization.safe_globals`` (torch 2.5) with
    ``(obj, 'module.name')`` entries (torch 2.6)."""
    return _TORCH >= (2, 6) and hasattr(torch.serialization, 'safe_globals')


def _np_multiarray():
    # numpy 2 moved numpy.core to numpy._core (numpy 1.26 has a stub _core)
    from numpy.lib import NumpyVersion
    return importlib.import_module('numpy._core.multiarray' if NumpyVersion(
        np.__version__) >= '2.0.0' else 'numpy.core.multiarray')


def runner_checkpoint_types() -> list:
    """The globals an mmengine 0.10 runner checkpoint needs besides tensors
    (found with ``torch.serialization.get_unsafe_globals_in_checkpoint``)."""
    dtype_classes = {
        type(np.dtype(t))
        for t in (np.float64, np.float32, np.float16, np.int64, np.int32,
                  np.int16, np.int8, np.uint8, np.bool_)
    }  # BUILD targets of pickled dtypes
    return [
        HistoryBuffer, np.ndarray, np.dtype,
        _np_multiarray()._reconstruct,
        _np_multiarray().scalar, *sorted(dtype_classes, key=str)
    ]


def history_buffer_statistic(obj, name: str):
    """The only ``getattr`` a checkpoint may call while unpickling:
    ``getattr(HistoryBuffer, name)`` for a default statistic (stock
    mmengine pickles the message hub's statistics methods that way).

    Raises:
        pickle.UnpicklingError: for any other object or attribute (nothing
            is looked up).
    """
    if obj is HistoryBuffer and name in _DEFAULT_STATS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'{REFUSED} getattr({getattr(obj, "__qualname__", type(obj))}, '
        f'{name!r})')


def _allow_list() -> dict:
    """'module.name' -> object for :func:`runner_checkpoint_types`, the
    numpy functions under both numpy 1 and numpy 2 module paths (so a
    checkpoint written with either loads with the other), and
    ``builtins.getattr`` -> :func:`history_buffer_statistic`."""
    named = {
        f'{o.__module__}.{o.__name__}': o
        for o in runner_checkpoint_types()
    }
    for f in (_np_multiarray()._reconstruct, _np_multiarray().scalar):
        for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            named[f'{mod}.{f.__name__}'] = f
    named['builtins.getattr'] = history_buffer_statistic
    return named


@functools.lru_cache(maxsize=None)
def restricted_pickle_module() -> types.ModuleType:
    """A ``pickle_module`` for ``torch.load`` on a torch without
    :func:`torch_has_allow_list`. Its ``Unpickler`` (and ``load``) resolves
    only the globals torch's weights-only loader allows (tensor rebuild
    functions, dtypes, ...) and :func:`_allow_list`, and sets state (BUILD)
    only on instances of those classes, as torch's weights-only unpickler
    does. It is pickle's pure-Python unpickler (its opcodes can be
    restricted): a checkpoint's pickle holds only its structure, so it
    stays fast.

    Raises (when unpickling):
        pickle.UnpicklingError: a global outside those lists (nothing is
            imported or called), or state set on another type.
    """
    from torch import _weights_only_unpickler as wo  # private, torch >= 1.13
    allowed = {  # pickle's helpers that torch >= 2.5 allows too (protocol
        # 2 pickles bytes as _codecs.encode calls; torch 2.1 has none)
        '_codecs.encode': codecs.encode,
        'builtins.bytearray': bytearray,
        'builtins.set': set,
        'builtins.complex': complex,
        'collections.OrderedDict': OrderedDict,
        'collections.Counter': Counter,
        **wo._get_allowed_globals(),
        **_allow_list()
    }
    build_types = {o for o in allowed.values() if isinstance(o, type)}

    class Unpickler(pickle._Unpickler):
        dispatch = dict(pickle._Unpickler.dispatch)

        def find_class(self, module, name):
            if self.proto < 3 and self.fix_imports:  # as pickle does:
                # protocol 2 names Python 2 modules (__builtin__.getattr)
                module, name = _compat_pickle.NAME_MAPPING.get(
                    (module, name),
                    (_compat_pickle.IMPORT_MAPPING.get(module, module), name))
            obj = allowed.get(f'{module}.{name}')
            if obj is None:  # same words as torch's weights-only loader
                raise pickle.UnpicklingError(
                    f'Unsupported global: GLOBAL {module}.{name} is not '
                    'allow-listed')
            return obj

        def _load_build(self):
            # BUILD on a class or function would set attributes on it for
            # the whole process: only instances of allowed classes
            inst = self.stack[-2]  # below the state
            if type(inst) not in build_types:
                raise pickle.UnpicklingError(
                    f'{_REFUSED_STATE} {type(inst).__qualname__}')
            pickle._Unpickler.load_build(self)

        dispatch[pickle.BUILD[0]] = _load_build

        def load(self):
            try:
                return super().load()
            except (IndexError, KeyError, TypeError, AttributeError) as e:
                # what the C unpickler reports as UnpicklingError (stack
                # underflow, bad arguments): a damaged or crafted pickle
                raise pickle.UnpicklingError(
                    f'{type(e).__name__}: {e}') from None

    module = types.ModuleType('blitznet_mm_restricted_pickle')
    module.Unpickler = Unpickler
    module.load = lambda file, **kw: Unpickler(file, **kw).load()
    return module


def _safe_torch_load(filename: str, map_location):
    """``torch.load`` that accepts only tensors and the allow-list."""
    if torch_has_allow_list():
        present = set(torch.serialization.get_safe_globals())
        # entries the user had added themselves stay after the call
        ours = [(o, n) for n, o in _allow_list().items()
                if (o, n) not in present]
        # (torch keeps one process-wide list: ours is in it for this call)
        with torch.serialization.safe_globals(ours):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    if os.getenv(
            'TORCH_FORCE_WEIGHTS_ONLY_LOAD',
            '0').lower() in ('1', 'y', 'yes',
                             'true'):  # torch would refuse a pickle_module
        return torch.load(
            filename, map_location=map_location,
            weights_only=True)  # (its own, stricter list)
    # torch's weights-only mode cannot be combined with a pickle_module:
    # it is off for this call, restricted_pickle_module() does the refusing
    torch_own_unpickler = False
    return torch.load(
        filename,
        map_location=map_location,
        pickle_module=restricted_pickle_module(),
        weights_only=torch_own_unpickler)


def _reason(e: Exception) -> str:
    """The informative line of torch's long weights-only message."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    for ln in lines:
        if not ln.startswith(('Weights only load failed', 'Check the doc')):
            return ln
    return lines[0] if lines else type(e).__name__


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be loaded: truncated, corrupt, not a
    PyTorch checkpoint, or holding tensors of a device this machine lacks.
    The message names the file."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint that pickles an object outside the allow-list (loading
    it without safe loading could run code). Nothing was executed."""


_HINT = ('an interrupted save or download? Resume from the previous '
         'checkpoint or download it again')


def _check_file(filename: str) -> int:
    """Size, zip CRCs and magic of ``filename``, before unpickling.

    Raises:
        FileNotFoundError, CheckpointError: as :func:`load_checkpoint_file`.
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    size = osp.getsize(filename)
    if size == 0:
        raise CheckpointError(f'{filename}: empty file (0 bytes); {_HINT}')
    if zipfile.is_zipfile(filename):
        try:
            with zipfile.ZipFile(filename) as zf:
                # torch.serialization.set_crc32_options(False) (torch >= 2.6)
                # writes 0 for every CRC: nothing to check there
                has_crc = any(i.CRC for i in zf.infolist() if i.file_size)
                bad = zf.testzip() if has_crc else None
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise CheckpointError(
                f'{filename}: corrupt checkpoint archive ({e}); {_HINT}'
            ) from None
        if bad is not None:
            raise CheckpointError(
                f'{filename}: corrupt checkpoint: record {bad!r} fails its '
                f'CRC-32 check ({size} bytes); {_HINT}')
    else:
        with open(filename, 'rb') as f:
            magic = f.read(2)
        if magic[:1] != b'\x80':  # neither a zip nor a pickle
            raise CheckpointError(
                f'{filename}: not a PyTorch checkpoint, or truncated '
                f'({size} bytes, starts with {magic!r}); {_HINT}')
    return size


def load_checkpoint_file(filename: str, map_location=None):
    """Loads a local checkpoint, accepting only tensors and the types
    runner checkpoints contain (module docstring).

    Zip checkpoints (torch >= 1.6) have their CRC-32s checked first, so a
    flipped bit in the weights is caught instead of loading silently (files
    saved without CRCs are not checked).

    Args:
        filename (str): Path of the ``.pth`` file.
        map_location: As in :func:`torch.load`; ``None`` on a machine
            without CUDA means ``'cpu'``, so a checkpoint written on a GPU
            loads there.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: it pickles a disallowed object.
        CheckpointError: empty, truncated, corrupt or not a checkpoint; or
            its tensors are on a device this machine does not have (with an
            explicit ``map_location``).
    """
    filename = osp.expanduser(filename)
    size = _check_file(filename)
    if map_location is None and not torch.cuda.is_available():
        map_location = 'cpu'  # torch would fail on the saved 'cuda:N' tags
    try:
        return _safe_torch_load(filename, map_location)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError,
            ValueError) as e:
        msg = str(e) or type(e).__name__
        # torch 2.1's weights-only load wraps this RuntimeError in an
        # UnpicklingError
        device = re.search(
            r'Attempting to deserialize object on (?:a )?'
            r'(\w+) device', msg)
        if device:
            raise CheckpointError(
                f'{filename}: its tensors were saved on a '
                f'{device.group(1)} device that this machine does not have '
                f'(map_location={map_location!r}): load it with '
                "map_location='cpu' or a device that exists here "
                f'({msg[device.start():].split(".")[0]})') from None
        if not isinstance(e, pickle.UnpicklingError):
            raise CheckpointError(
                f'{filename}: truncated or corrupt checkpoint ({size} '
                f'bytes): {msg.splitlines()[0]}; {_HINT}') from None
        patterns = (  # torch >= 2.2 / torch 2.1 / ours; getattr; BUILD
            r'[Uu]nsupported (?:(?:global: )?GLOBAL|class) ([\w.]+)',
            rf'{REFUSED} (getattr\([^)]*\))', rf'({_REFUSED_STATE} [\w.]+)')
        found = next(filter(None, (re.search(p, msg) for p in patterns)), None)
        if found:
            raise UnsafeCheckpointError(
                f'{filename}: refused: it pickles {found.group(1)}, which '
                'is not a type runner checkpoints contain (loading it '
                'unsafely could run code; nothing was executed). Only load '
                'checkpoints you trust.') from None
        raise CheckpointError(f'{filename}: corrupt checkpoint '
                              f'({_reason(e)}); {_HINT}') from None
