from .checkpoint import allow_runner_checkpoints, runner_checkpoint_types
from .fast_inference import (default_dtype, fast_inference,
                             optimize_for_inference)

__all__ = ['allow_runner_checkpoints', 'runner_checkpoint_types',
           'optimize_for_inference', 'fast_inference', 'default_dtype']
