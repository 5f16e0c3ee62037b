"""Workarounds for the pinned stack (docs/install.md, "The pinned stack"),
in one place. Each module says what it works around and which upstream version
stops needing it; no other module of the package patches third-party code.
:func:`apply` runs when ``blitznet_mm`` is imported.
"""
from .mmengine_checkpoint import (allow_runner_checkpoints,
                                  history_buffer_statistic,
                                  register_checkpoint_loader,
                                  runner_checkpoint_types)
from .mmdet_ssd_head import give_ssd_head_loss_cls

__all__ = ['apply', 'allow_runner_checkpoints', 'history_buffer_statistic',
           'register_checkpoint_loader', 'runner_checkpoint_types',
           'give_ssd_head_loss_cls']


def apply() -> None:
    """Apply the workarounds needed at import time (idempotent)."""
    register_checkpoint_loader()
