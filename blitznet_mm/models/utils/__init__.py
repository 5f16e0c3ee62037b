from .global_batch import global_normaliser
from .variance_scaling import (VarianceScalingInit, variance_scaling_init,
                               variance_scaling_std)

__all__ = [
    'global_normaliser', 'VarianceScalingInit', 'variance_scaling_init',
    'variance_scaling_std'
]
