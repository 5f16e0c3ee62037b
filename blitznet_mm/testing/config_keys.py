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


def _source_files(cls) -> set:
    """The files of ``cls`` and its bases, and of the functions and classes
    their modules import from the same package (BlitzNet's head reads
    ``test_cfg`` in ``postprocess.py``)."""
    import inspect
    import sys

    import torch
    files = set()
    for klass in cls.__mro__:
        if klass in (object, torch.nn.Module):
            continue
        module = sys.modules.get(klass.__module__)
        if module is None or not getattr(module, '__file__', None):
            continue
        files.add(module.__file__)
        package = klass.__module__.split('.')[0]
        for obj in vars(module).values():
            home = getattr(obj, '__module__', None) or ''
            if home.split('.')[0] == package and (inspect.isfunction(obj)
                                                  or inspect.isclass(obj)):
                path = getattr(sys.modules.get(home), '__file__', None)
                if path:
                    files.add(path)
    return files


def _mentions(cls, key: str) -> bool:
    """Whether ``_source_files(cls)`` name ``key`` as a string or an
    attribute (``cfg['key']``, ``cfg.get('key')``, ``cfg.key``)."""
    import re
    pattern = re.compile(rf"""['"]{re.escape(key)}['"]|\.{re.escape(key)}\b""")
    return any(
        pattern.search(open(path, encoding='utf-8').read())
        for path in _source_files(cls))


def unread_cfg_keys(model) -> List[str]:
    """The ``train_cfg`` / ``test_cfg`` keys of ``model`` and its submodules
    that no holder reads, as ``'<train_cfg|test_cfg>.<key>'``. A key counts
    as read when a source of a module holding it (``_source_files``) names
    it: these dicts are untyped (``cfg.get('key')``, ``cfg.key``), so a
    misspelt or stale key is taken silently; e.g. mmdet 3.x configs still
    carry ``train_cfg.debug``, which no mmdet 3.x head reads. The detector
    hands its dicts to its heads, so a key is judged over all holders."""
    stated, read = set(), set()
    for module in model.modules():
        for attr in ('train_cfg', 'test_cfg'):
            cfg = getattr(module, attr, None)
            if isinstance(cfg, dict):
                stated |= {f'{attr}.{k}' for k in cfg}
                read |= {
                    f'{attr}.{k}'
                    for k in cfg if _mentions(type(module), k)
                }
    return sorted(stated - read)
