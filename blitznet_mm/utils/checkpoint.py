"""Safe loading of MMEngine runner checkpoints on torch >= 2.6.

torch loads with ``weights_only=True`` by default; mmengine 0.10.7 calls
``torch.load`` without the argument, so its own checkpoints (which pickle a
``HistoryBuffer`` and numpy scalars in ``meta.message_hub``) fail to load.
Rather than switching safe loading off, the exact types those checkpoints
contain are allow-listed; any other pickled object is still refused.
"""
import numpy as np
import torch

_DONE = False


def runner_checkpoint_types() -> list:
    """The non-tensor types an mmengine 0.10 runner checkpoint pickles."""
    from mmengine.logging.history_buffer import HistoryBuffer
    types = [HistoryBuffer, np.ndarray, np.dtype,
             np.core.multiarray._reconstruct if hasattr(np, 'core') else None,
             np.core.multiarray.scalar if hasattr(np, 'core') else None]
    types += [type(np.dtype(t)) for t in (
        np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8,
        np.bool_)]
    return [t for t in types if t is not None]


def allow_runner_checkpoints() -> None:
    """Allow-list :func:`runner_checkpoint_types` for ``torch.load`` with
    ``weights_only=True`` (idempotent)."""
    global _DONE
    if not _DONE:
        torch.serialization.add_safe_globals(runner_checkpoint_types())
        _DONE = True
