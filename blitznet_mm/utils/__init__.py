from .checkpoint import allow_runner_checkpoints, runner_checkpoint_types

__all__ = ['allow_runner_checkpoints', 'runner_checkpoint_types']
