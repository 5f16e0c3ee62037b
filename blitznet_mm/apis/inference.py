"""Build a BlitzNet for inference from a checkpoint or an exported model."""
import copy
from typing import Optional, Union

import torch.nn as nn
from mmdet.apis import init_detector
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ..deployment import backend_model_cfg, is_exported_model, read_metadata


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               **backend_kwargs) -> nn.Module:
    """mmdet's ``init_detector`` for checkpoints (``.pth``), and the same
    for exported models (``.onnx`` / ``.xml``): a ``BlitzNetBackendModel``
    with the config's data preprocessor, ``test_cfg`` and test pipeline
    (``model.cfg``), and the class names / palettes stored in the file
    (``model.dataset_meta``: detection ``classes`` and ``palette``, and the
    segmentation set's ``seg_classes`` / ``seg_background`` /
    ``seg_palette``).

    Args:
        config (str | Config): the config the model was trained with.
        checkpoint (str, optional): ``.pth``, ``.onnx`` or ``.xml``.
        device (str): device of the data preprocessor (exported models run
            on the CPU).
        **backend_kwargs: ``precision``, ``num_threads`` for exported
            models.

    Raises:
        ValueError: from ``BlitzNetBackendModel`` (metadata, class count).
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    if checkpoint is None or not is_exported_model(checkpoint):
        if backend_kwargs:
            raise ValueError(f'{sorted(backend_kwargs)} apply to exported '
                             'models (.onnx/.xml) only')
        return init_detector(cfg, checkpoint, device=device)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model = backend_model_cfg(cfg.model, checkpoint, **backend_kwargs)
    model = MODELS.build(cfg.model)
    model.cfg = cfg
    meta = read_metadata(checkpoint)
    model.dataset_meta = dict(meta.get('dataset_meta') or {})
    for key in ('palette', 'seg_palette'):  # JSON keeps lists; mmdet's
        if key in model.dataset_meta:  # colours are tuples
            model.dataset_meta[key] = [
                tuple(c) for c in model.dataset_meta[key]
            ]
    for key in ('classes', 'seg_classes'):
        if key in model.dataset_meta:
            model.dataset_meta[key] = tuple(model.dataset_meta[key])
    return model.to(device).eval()
