"""A fast inference path that keeps BlitzNet's results (issue 6): fold
BatchNorm into the convolutions (mmcv), channels-last weights, and the
network under reduced-precision autocast (bf16, or fp16 on GPUs without
bf16) in inference mode. ``BlitzNet.predict`` runs box decoding, NMS, mask
upsampling and argmax in fp32, so only the convolutions change precision.

    model = optimize_for_inference(model)
    with fast_inference('cpu'):
        results = model.test_step(data)
"""
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from mmcv.cnn import fuse_conv_bn
from torch import nn


def optimize_for_inference(model: nn.Module,
                           fuse_bn: bool = True,
                           channels_last: bool = True,
                           compile: bool = False) -> nn.Module:
    """Prepares a model for inference, in place.

    Args:
        model (nn.Module): e.g. ``BlitzNet``; switched to ``eval()``.
        fuse_bn (bool): fold each BatchNorm into the preceding conv
            (``mmcv.cnn.fuse_conv_bn``); exact up to float rounding.
        channels_last (bool): NHWC weights; oneDNN / cuDNN then run the
            convolutions in NHWC, which is what their fast kernels use.
        compile (bool): ``torch.compile`` the network's modules
            (``backbone``, ``neck``, ``bbox_head``, ``seg_head`` where
            present; post-processing stays eager). Costs ~1 min per input
            shape on a 2-core CPU; pays off for long runs (benchmark.md).

    Returns:
        nn.Module: the same model.
    """
    model.eval()
    if fuse_bn:
        model = fuse_conv_bn(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compile:
        for name in ('backbone', 'neck', 'bbox_head', 'seg_head'):
            module = getattr(model, name, None)
            if module is not None:
                module.compile()  # in place: state_dict keys unchanged
    return model


def default_dtype(device_type: str) -> torch.dtype:
    """bf16 on CPU (native bf16 matrix units on AVX512-BF16/AMX CPUs) and on
    GPUs that support it (Ampere and later: as fast as fp16 and it cannot
    overflow), fp16 on older GPUs."""
    if device_type == 'cuda' and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


#: ``--fast`` / ``--amp`` names of the precisions
PRECISIONS = {
    'fp32': torch.float32,
    'fp16': torch.float16,
    'bf16': torch.bfloat16
}


@contextmanager
def fast_inference(device_type: str = 'cpu',
                   dtype: Optional[torch.dtype] = None,
                   enabled: bool = True) -> Iterator[None]:
    """Inference mode + autocast to ``dtype`` (default: ``default_dtype``).

    Args:
        device_type (str): ``'cpu'`` or ``'cuda'``.
        dtype (torch.dtype, optional): autocast dtype.
        enabled (bool): False gives plain fp32 inference mode.
    """
    dtype = dtype or default_dtype(device_type)
    with torch.inference_mode(), torch.autocast(
            device_type, dtype=dtype, enabled=enabled):
        yield
