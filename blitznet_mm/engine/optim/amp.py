"""Mixed-precision training: ``tools/train.py --amp {fp16,bf16}``.

On CUDA both go through mmengine's ``AmpOptimWrapper`` (dynamic loss
scaling; bf16 only where ``torch.cuda.is_bf16_supported()``). mmengine's
wrapper refuses to run without an accelerator, so bf16 on the CPU uses
:class:`BF16OptimWrapper`: bf16 has fp32's exponent range, so it needs no
loss scaling. Losses, hard-negative mining and NMS stay fp32 either way
(``BlitzNetDetHead.loss_by_feat``, ``BlitzNet.predict``).
"""
from contextlib import contextmanager
from typing import Optional

import torch
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward (``optim_context``) runs under bf16
    autocast on the model's device; backward and step as ``OptimWrapper``
    (no loss scaling: bf16 does not underflow where fp32 does not).

    Args:
        **kwargs: as mmengine's ``OptimWrapper``.
    """

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device, dtype=torch.bfloat16):
            yield


def configure_amp(optim_wrapper: dict,
                  precision: str,
                  cuda: Optional[bool] = None) -> dict:
    """Turn an ``optim_wrapper`` config into mixed-precision training, in
    place.

    Args:
        optim_wrapper (dict): the config's ``optim_wrapper``.
        precision (str): ``'fp16'`` or ``'bf16'``.
        cuda (bool, optional): whether training runs on CUDA; default
            ``torch.cuda.is_available()``.

    Returns:
        dict: ``optim_wrapper``.

    Raises:
        ValueError: an unknown precision; fp16 without CUDA (CPU fp16
            convolutions are emulated and mmengine's fp16 path needs a GPU);
            bf16 on a GPU without bf16 support (use fp16 there).
    """
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if precision not in ('fp16', 'bf16'):
        raise ValueError(f"--amp must be 'fp16' or 'bf16', got {precision!r}")
    if precision == 'fp16' and not cuda:
        raise ValueError('--amp fp16 needs a CUDA GPU (mmengine '
                         'AmpOptimWrapper); on the CPU use --amp bf16')
    if precision == 'bf16' and cuda and not torch.cuda.is_bf16_supported():
        raise ValueError('--amp bf16: this GPU has no bf16 support; use '
                         '--amp fp16 (loss-scaled)')
    if cuda:
        optim_wrapper.update(
            type='AmpOptimWrapper',
            loss_scale='dynamic',
            dtype='float16' if precision == 'fp16' else 'bfloat16')
    else:
        optim_wrapper['type'] = 'BF16OptimWrapper'
    return optim_wrapper
