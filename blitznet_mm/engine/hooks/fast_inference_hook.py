"""``tools/test.py --fast``: the test loop on the fast inference path."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS

from ...utils.fast_inference import default_dtype, optimize_for_inference


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """Runs the *test* loop on the fast path of
    ``blitznet_mm.utils.fast_inference``: after the checkpoint is loaded,
    BatchNorm is folded into the convolutions and weights go channels-last;
    each test iteration runs under autocast (bf16 on CPU, fp16 on CUDA),
    with post-processing in fp32 (``BlitzNet.predict``).

    Only ``before_test`` changes the model: validation during training is
    left alone (folding BN would break training).

    Args:
        autocast (bool): reduced-precision autocast; False keeps fp32 (the
            exact fast path). Defaults to True.
        fuse_bn (bool): fold BatchNorm. Defaults to True.
        channels_last (bool): channels-last weights. Defaults to True.
    """
    priority = 'LOW'

    def __init__(self, autocast: bool = True, fuse_bn: bool = True,
                 channels_last: bool = True) -> None:
        self.autocast = autocast
        self.fuse_bn = fuse_bn
        self.channels_last = channels_last
        self._ctx = None

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        optimize_for_inference(model, fuse_bn=self.fuse_bn,
                               channels_last=self.channels_last)
        device = next(model.parameters()).device.type
        self._ctx = torch.autocast(device, dtype=default_dtype(device),
                                   enabled=self.autocast)
        runner.logger.info(
            f'fast inference: BN folded={self.fuse_bn}, channels-last='
            f'{self.channels_last}, autocast='
            f'{default_dtype(device) if self.autocast else "off"}')

    def before_test_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._ctx.__enter__()

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._ctx.__exit__(None, None, None)
