"""Workarounds for the pinned stack (docs/install.md, "The pinned stack"),
in one place. Each module says what it works around and which upstream version
stops needing it; no other module of the package patches third-party code.
:func:`apply` runs when ``blitznet_mm`` is imported.
"""
from .mmdet_ssd_head import give_ssd_head_loss_cls
from .mmengine_checkpoint import (allow_runner_checkpoints,
                                  history_buffer_statistic,
                                  register_checkpoint_loader,
                                  runner_checkpoint_types)
from .upstream import check_mirrored, check_versions

__all__ = [
    'apply', 'allow_runner_checkpoints', 'history_buffer_statistic',
    'register_checkpoint_loader', 'runner_checkpoint_types',
    'give_ssd_head_loss_cls', 'check_mirrored', 'check_versions'
]


def apply() -> None:
    """Check the upstream versions and the private methods overridden
    (``upstream.py``), then apply the workarounds needed at import time
    (idempotent)."""
    check_versions()
    check_mirrored()
    register_checkpoint_loader()
