from .checkpoint import (CheckpointError, UnsafeCheckpointError,
                         load_checkpoint_file, runner_checkpoint_types)
from .distributed import replace_sync_bn, setup_cpu_training
from .fast_inference import (default_dtype, fast_inference,
                             optimize_for_inference)
from .tta import apply_tta, tta_pipeline

__all__ = [
    'runner_checkpoint_types', 'CheckpointError', 'UnsafeCheckpointError',
    'load_checkpoint_file', 'replace_sync_bn', 'setup_cpu_training',
    'optimize_for_inference', 'fast_inference', 'default_dtype', 'apply_tta',
    'tta_pipeline'
]
