"""Variance-scaling initialisation of TF-slim, which the authors' code uses
for the detection head with factor 0.1 (docs/training_recipe.md,
"Initialisation"): near-uniform initial class scores, so a fresh model
starts near the loss of a uniform prediction."""
import math

import torch.nn as nn
from mmengine.model.weight_init import (BaseInit, _get_bases_name,
                                        update_init_info)
from mmengine.registry import WEIGHT_INITIALIZERS
from torch import Tensor

# std of a normal truncated at 2 sigma is 0.88 sigma; TF-slim multiplies the
# variance by 1.3 (~ 1 / 0.88**2) to compensate
TRUNCATION_CORRECTION = 1.3


def variance_scaling_std(fan: int,
                         factor: float,
                         truncated: bool = True) -> float:
    """std of TF-slim's ``variance_scaling_initializer(factor, mode, uniform
    =False)`` for a layer of the given fan: ``sqrt(1.3 * factor / fan)``
    (truncated normal) or ``sqrt(factor / fan)``."""
    scale = TRUNCATION_CORRECTION if truncated else 1.
    return math.sqrt(scale * factor / fan)


def fans(weight: Tensor) -> tuple:
    """(fan_in, fan_out) of a conv / linear weight (out, in, *kernel)."""
    receptive = weight[0][0].numel() if weight.dim() > 2 else 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def variance_scaling_init(module: nn.Module,
                          factor: float = 2.0,
                          mode: str = 'fan_in',
                          bias: float = 0.) -> None:
    """Initialise ``module.weight`` from N(0, std) truncated at 2 std with
    std = :func:`variance_scaling_std` of the chosen fan ('fan_in',
    'fan_out' or 'fan_avg'); bias constant.

    Raises:
        ValueError: for an unknown ``mode``.
    """
    fan_in, fan_out = fans(module.weight)
    fan = dict(
        fan_in=fan_in, fan_out=fan_out,
        fan_avg=(fan_in + fan_out) / 2.).get(mode)
    if fan is None:
        raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg', "
                         f'got {mode!r}')
    std = variance_scaling_std(fan, factor)
    nn.init.trunc_normal_(module.weight, 0., std, -2 * std, 2 * std)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


@WEIGHT_INITIALIZERS.register_module(name='VarianceScaling')
class VarianceScalingInit(BaseInit):
    """``init_cfg=dict(type='VarianceScaling', layer='Conv2d', factor=0.1)``:
    :func:`variance_scaling_init` on every layer of the named types.

    Args:
        factor (float): Variance factor; 2.0 is He, 0.1 the authors'
            detection head. Defaults to 2.0.
        mode (str): 'fan_in', 'fan_out' or 'fan_avg'. Defaults to 'fan_in'.
        bias (float): Bias value. Defaults to 0.
        layer (str | list[str]): Layer types to initialise.
    """

    def __init__(self,
                 factor: float = 2.0,
                 mode: str = 'fan_in',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.factor = factor
        self.mode = mode

    def __call__(self, module: nn.Module) -> None:

        def init(m):
            names = {m.__class__.__name__, *_get_bases_name(m)}
            if self.wholemodule or set(self.layer) & names:
                variance_scaling_init(m, self.factor, self.mode, self.bias)

        module.apply(init)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return (f'{self.__class__.__name__}: factor={self.factor}, '
                f'mode={self.mode}, truncated normal, bias={self.bias}')
