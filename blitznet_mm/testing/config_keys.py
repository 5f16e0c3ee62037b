"""Dead keys of a model config: a key of a typed sub-config (``dict(type=
...)``) that its registered class does not take. mmengine passes every key
to the constructor, so such a key is either refused there (a TypeError) or
swallowed by a ``**kwargs`` that nothing reads (mmdet's box coders and
samplers); this finds both before a run (issue 24: each setting is
stated once and read)."""
import inspect
from typing import List, Optional

#: keys mmengine's registry reads itself
REGISTRY_KEYS = ('type', '_scope_', '_delete_')
#: sub-configs read by their own builders, not a registry constructor:
#: mmcv's build_norm_layer / build_activation_layer / ... (``requires_grad``,
#: ``inplace``), the NMS op of a ``test_cfg``, mmengine's init override (a
#: module name)
NOT_REGISTRY = ('norm_cfg', 'act_cfg', 'conv_cfg', 'upsample_cfg', 'nms',
                'override')
#: keys the BlitzNet mmseg-head adapter (``MMSegDecodeHead``) takes from an
#: ``mmseg.X`` head config before building it (``wrap_mmseg_head``)
MMSEG_ADAPTER = ('num_classes', 'background', 'loss_seg', 'loss_at',
                 'max_upsample_elements', 'ignore_index')


def _registries():
    from mmdet.registry import MODELS, TASK_UTILS
    from mmengine.registry import WEIGHT_INITIALIZERS
    return MODELS, TASK_UTILS, WEIGHT_INITIALIZERS


def resolve(type_) -> Optional[type]:
    """The class a config ``type`` names (mmdet's models and task utils,
    mmseg's through the ``mmseg.`` scope, mmengine's initialisers)."""
    if isinstance(type_, type):
        return type_
    for registry in _registries():
        cls = registry.get(type_)
        if cls is not None:
            return cls
    return None


def constructor_keys(cls) -> set:
    """The names ``cls(**cfg)`` takes, following ``**kwargs`` up the bases
    that define ``__init__`` (``torch.nn.Module`` refuses what reaches it;
    a ``**kwargs`` that no base takes, e.g. mmdet's ``BaseBBoxCoder``'s, is
    dropped: its keys are dead)."""
    import torch
    names = set()
    for klass in cls.__mro__:
        if '__init__' not in vars(klass) or klass in (object, torch.nn.Module):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names |= {
            p.name
            for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names - {'self'}


def dead_keys(cfg, where: str = 'model') -> List[str]:
    """Every dead key under ``cfg`` (a model config), as
    ``'<path>.<key> (<Class>)'``.

    Raises:
        ValueError: for a ``type`` no registry knows (naming its path).
    """
    out = []
    if isinstance(cfg, (list, tuple)):
        for i, item in enumerate(cfg):
            out += dead_keys(item, f'{where}[{i}]')
        return out
    if not isinstance(cfg, dict):
        return out
    extra: tuple = ()
    if 'type' in cfg:
        type_ = cfg['type']
        if isinstance(type_, str) and type_.startswith('mmseg.'):
            extra = MMSEG_ADAPTER  # BlitzNet's adapter takes these first
        cls = resolve(type_)
        if cls is None:
            raise ValueError(f'{where}: no registry knows type={type_!r}')
        names = constructor_keys(cls)
        out += [
            f'{where}.{k} ({cls.__name__})' for k in cfg
            if k not in names and k not in REGISTRY_KEYS and k not in extra
        ]
    for key, value in cfg.items():
        if key not in NOT_REGISTRY:
            out += dead_keys(value, f'{where}.{key}')
    return out


def shipped_configs() -> List[str]:
    """configs/**/*.py of the checkout (bases excluded), relative to
    configs/."""
    import glob
    import os.path as osp

    from .builders import REPO
    root = osp.join(REPO, 'configs')
    return sorted(
        osp.relpath(p, root)
        for p in glob.glob(osp.join(root, '**', '*.py'), recursive=True)
        if '_base_' not in p)
