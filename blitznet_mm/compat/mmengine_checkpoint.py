"""Works around: mmengine 0.10.7 calls ``torch.load`` without
``weights_only``. With torch >= 2.6 (weights-only by default) the runner's
own checkpoints then fail to load (``UnpicklingError ... HistoryBuffer``);
with older torch any checkpoint is fully unpickled, so a crafted one runs
code. Still needed with mmengine 0.10.7, the last release (no release passes
``weights_only`` or registers its types).

The workaround registers :func:`blitznet_mm.utils.load_checkpoint_file` for
local paths in mmengine's ``CheckpointLoader`` (its public seam for loaders):
``load_from``, ``--resume``, ``tools/test.py``, ``init_detector`` and
``mmengine.runner.load_checkpoint`` all go through it. That loader accepts
tensors and the types runner checkpoints contain, refuses everything else,
and gives clear errors for truncated and corrupt files; it patches nothing
(no global allow-list, no mmengine class changed).

Direction of imports: ``compat`` imports ``utils.checkpoint``, never the
reverse.
"""
from mmengine.runner import CheckpointLoader

# re-exported: the names this module had before utils/checkpoint.py
from ..utils.checkpoint import history_buffer_statistic  # noqa: F401
from ..utils.checkpoint import runner_checkpoint_types  # noqa: F401
from ..utils.checkpoint import load_checkpoint_file


def register_checkpoint_loader() -> None:
    """Load local checkpoints through :func:`load_checkpoint_file`
    (idempotent; called when ``blitznet_mm`` is imported)."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_file, force=True)


# the name this function had when it also patched torch and mmengine
allow_runner_checkpoints = register_checkpoint_loader
