"""A checkpoint hook that never leaves a training run without a usable
checkpoint (issue 7).

mmengine 0.10.7's ``CheckpointHook`` deletes the oldest checkpoint *before*
writing the new one, writes the new file in place and then rewrites
``last_checkpoint`` in place. A process killed during the write (SIGKILL,
out of memory, pre-emption) leaves a truncated newest file, and with
``max_keep_ckpts=1`` no good checkpoint at all. This hook writes
``iter_N.pth.tmp``, renames it (atomic on POSIX), rewrites
``last_checkpoint`` the same way, and only then deletes outdated
checkpoints. It also refuses to save weights that are not finite, so a
diverged run cannot replace a good checkpoint with NaNs.
"""
import os
import os.path as osp
import shutil

import torch
from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper


class NonFiniteWeightsError(FloatingPointError):
    """Raised instead of saving a checkpoint whose weights are NaN/inf."""


def _atomic_write_text(path: str, text: str) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def first_non_finite(model: torch.nn.Module):
    """Name of the first parameter or buffer with a NaN/inf, or None."""
    for name, t in model.state_dict().items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            return name
    return None


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with atomic writes and finite-weight checks.

    Same arguments as mmengine's ``CheckpointHook``, plus:

    Args:
        check_finite (bool): before saving, check every floating-point
            parameter and buffer; raise :class:`NonFiniteWeightsError`
            (naming the tensor and the iteration) instead of saving NaN/inf
            weights. Defaults to True.

    Non-local storage backends (``backend_args``) fall back to the parent's
    behaviour: renames are only atomic on a local filesystem.
    """

    def __init__(self, *args, check_finite: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.check_finite = check_finite

    def _save_checkpoint_with_step(self, runner, step, meta):
        if self.check_finite:
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            bad = first_non_finite(model)
            if bad is not None:
                raise NonFiniteWeightsError(
                    f'iteration {runner.iter + 1}: weight {bad!r} is not '
                    f'finite; checkpoint {self.filename_tmpl.format(step)} '
                    'was not saved and the previous one is kept')
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)

        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename + '.tmp',
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        tmp = self.last_ckpt + '.tmp'
        if osp.isfile(tmp):  # DeepSpeed saves a directory: renamed alike
            with open(tmp, 'rb') as f:
                os.fsync(f.fileno())
        os.replace(tmp, self.last_ckpt)
        _atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if outdated is not None and outdated != step:
            old = osp.join(self.out_dir, self.filename_tmpl.format(outdated))
            if osp.isfile(old):
                os.remove(old)
            elif osp.isdir(old):  # as mmengine: DeepSpeed's directories
                shutil.rmtree(old)
