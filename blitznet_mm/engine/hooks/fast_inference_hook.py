"""``tools/test.py --fast``: the test loop on the fast inference path."""
from typing import Optional

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...utils.fast_inference import (PRECISIONS, default_dtype,
                                     optimize_for_inference)


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """Runs the *test* loop on the fast path of
    ``blitznet_mm.utils.fast_inference``: after the checkpoint is loaded,
    BatchNorm is folded into the convolutions and weights go channels-last;
    every ``test_step`` runs under autocast (``dtype``), with post-processing
    in fp32 (``BlitzNet.predict``).

    The autocast is opened inside ``test_step`` itself: mmengine's
    ``TestLoop.run_iter`` wraps the step in ``autocast(enabled=fp16)``, which
    would switch off an autocast opened around it by a hook.

    Only ``before_test`` changes the model: validation during training is
    left alone (folding BN would break training).

    Args:
        autocast (bool): reduced-precision autocast; False keeps fp32 (the
            exact fast path). Defaults to True.
        dtype (str, optional): 'bf16' or 'fp16'; default
            :func:`default_dtype` of the model's device (bf16, or fp16 on a
            GPU without bf16).
        fuse_bn (bool): fold BatchNorm. Defaults to True.
        channels_last (bool): channels-last weights. Defaults to True.

    Raises:
        ValueError: for a ``dtype`` other than 'bf16' / 'fp16'.
    """
    priority = 'LOW'

    def __init__(self,
                 autocast: bool = True,
                 dtype: Optional[str] = None,
                 fuse_bn: bool = True,
                 channels_last: bool = True) -> None:
        if dtype is not None and dtype not in ('bf16', 'fp16'):
            raise ValueError(f"FastInferenceHook: dtype must be 'bf16' or "
                             f"'fp16', got {dtype!r}")
        self.autocast = autocast
        self.dtype = dtype
        self.fuse_bn = fuse_bn
        self.channels_last = channels_last

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        optimize_for_inference(
            model, fuse_bn=self.fuse_bn, channels_last=self.channels_last)
        device = next(model.parameters()).device.type
        dtype = PRECISIONS[self.dtype] if self.dtype else default_dtype(device)
        step, enabled = runner.model.test_step, self.autocast

        def test_step(data):
            with torch.autocast(device, dtype=dtype, enabled=enabled):
                return step(data)

        # an instance attribute: the model's class is left unchanged
        runner.model.test_step = test_step
        runner.logger.info(
            f'fast inference: BN folded={self.fuse_bn}, channels-last='
            f'{self.channels_last}, autocast={dtype if enabled else "off"}')
