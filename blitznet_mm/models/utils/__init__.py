from .variance_scaling import (VarianceScalingInit, variance_scaling_init,
                               variance_scaling_std)

__all__ = ['VarianceScalingInit', 'variance_scaling_init',
           'variance_scaling_std']
