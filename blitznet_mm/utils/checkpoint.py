"""Loading of local checkpoint files with torch's safe (``weights_only``)
loading and clear errors: refused, truncated and corrupt files become a
:class:`CheckpointError` that names the file and the problem. The types a
runner checkpoint may contain are allow-listed in
``blitznet_mm/compat/mmengine_checkpoint.py``.
"""
import os.path as osp
import pickle
import re
import zipfile

import torch

from ..compat.mmengine_checkpoint import REFUSED

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
                              rf'{REFUSED} (getattr\([^)]*\))', str(e))
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


