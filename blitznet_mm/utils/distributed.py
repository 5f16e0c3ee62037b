"""Training without CUDA: SyncBN falls back to BN, and data-parallel
training runs on CPU processes over gloo (issue 7).

mmengine 0.10.7 cannot do either on its own: ``init_dist`` calls
``torch.cuda.set_device`` and the runner wraps the model in DDP with
``device_ids=[LOCAL_RANK]``, which DDP rejects for CPU modules.
"""
import os
import warnings

import torch
import torch.distributed as dist

SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN', 'SyncBatchNorm', 'TorchSyncBN')


def replace_sync_bn(cfg) -> int:
    """Replaces SyncBN norm configs by BN, in place, anywhere in ``cfg``
    (dicts and lists). Returns the number replaced."""
    count = 0
    if isinstance(cfg, dict):
        if cfg.get('type') in SYNC_BN_TYPES:
            cfg['type'] = 'BN'
            count += 1
        for v in cfg.values():
            count += replace_sync_bn(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            count += replace_sync_bn(v)
    return count


def setup_cpu_training(cfg, launcher: str = 'none') -> None:
    """Adapts a training config in place when CUDA is unavailable.

    - SyncBN (in ``cfg.model`` or ``cfg.sync_bn``) becomes BN, with a
      warning: SyncBN needs CUDA (and one process per GPU).
    - ``launcher='pytorch'`` (``tools/dist_train.sh``): the process group is
      initialised with gloo from torchrun's environment, and the model is
      wrapped with ``device_ids=None`` (CPU DDP); other wrapper settings
      keep mmengine's defaults.

    Does nothing when CUDA is available.

    Raises:
        KeyError: for ``launcher='pytorch'`` outside torchrun (no
            ``RANK``/``WORLD_SIZE`` in the environment).
    """
    if torch.cuda.is_available():
        return
    n = replace_sync_bn(cfg.get('model', {}))
    if cfg.get('sync_bn'):
        cfg.sync_bn = None
        n += 1
    if n:
        warnings.warn(f'no CUDA: {n} SyncBN setting(s) fall back to BN '
                      '(per-process batch statistics)')
    if launcher != 'pytorch':
        return
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if key not in os.environ:
            raise KeyError(f'--launcher pytorch needs {key} in the '
                           'environment: start with tools/dist_train.sh '
                           '(torchrun)')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    env = cfg.setdefault('env_cfg', {})
    env.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
