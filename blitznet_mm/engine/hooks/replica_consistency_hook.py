"""Checks that data-parallel replicas hold the same weights (issue 7)."""
import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_gather, get_world_size, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


def weight_checksums(model: torch.nn.Module, buffers: bool = True):
    """(names, (T, 2) float64 tensor): per floating-point parameter (and
    buffer when ``buffers``), the sum and the sum of squares. Identical
    weights give bit-identical checksums (same ops, same order)."""
    names, sums = [], []
    params = {n for n, _ in model.named_parameters()}
    for name, t in model.state_dict().items():
        if t.is_floating_point() and (buffers or name in params):
            t = t.detach().double()
            names.append(name)
            sums.append(torch.stack([t.sum(), (t * t).sum()]))
    return names, torch.stack(sums).cpu()


@HOOKS.register_module()
class ReplicaConsistencyHook(Hook):
    """After training (and every ``interval`` iterations when > 0), gathers
    per-tensor weight checksums from all ranks and compares them.

    Args:
        interval (int): also check every ``interval`` iterations; 0 = only
            at the end of training. Defaults to 0.
        on_mismatch (str): ``'warn'`` logs the differing tensors,
            ``'raise'`` raises RuntimeError. Defaults to ``'warn'``.

    Without a process group it does nothing. mmengine wraps models with
    ``broadcast_buffers=False``, so BatchNorm running statistics drift apart
    between replicas; mmengine's ``SyncBuffersHook`` (before this hook in
    the default runtime) averages them at the end of training: the checks
    every ``interval`` iterations therefore compare parameters only, the
    final one parameters and buffers.
    """
    priority = 'VERY_LOW'

    def __init__(self, interval: int = 0, on_mismatch: str = 'warn'):
        if on_mismatch not in ('warn', 'raise'):
            raise ValueError(f"on_mismatch must be 'warn' or 'raise', got "
                             f'{on_mismatch!r}')
        self.interval = interval
        self.on_mismatch = on_mismatch

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if self.interval > 0 and self.every_n_train_iters(
                runner, self.interval):
            self.check(runner, buffers=False)

    def after_train(self, runner):
        self.check(runner)

    def check(self, runner, buffers: bool = True) -> bool:
        """True when all replicas agree (or training is not distributed);
        ``buffers=False`` leaves out BatchNorm statistics, which differ
        between replicas until ``SyncBuffersHook`` averages them."""
        if not is_distributed() or get_world_size() < 2:
            return True
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        names, sums = weight_checksums(model, buffers)
        gathered = all_gather(sums)
        differ = set()
        for other in gathered[1:]:
            bad = (other != gathered[0]).any(1).nonzero().flatten().tolist()
            differ.update(names[i] for i in bad)
        if not differ:
            runner.logger.info(
                f'replicas identical at iteration {runner.iter}: '
                f'{len(names)} tensors on {len(gathered)} ranks')
            return True
        msg = (f'replicas differ at iteration {runner.iter} in '
               f'{len(differ)} tensors, e.g. {sorted(differ)[:5]}')
        if self.on_mismatch == 'raise':
            raise RuntimeError(msg)
        runner.logger.warning(msg)
        return False
