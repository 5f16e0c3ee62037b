"""An MMSegmentation decode head (DeepLabv3+'s ASPP head, FCN, ...) as
BlitzNet's segmentation branch (docs/mmseg_heads.md)."""
import copy
from typing import Tuple

from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from torch import Tensor

from ...structures.seg_labels import (IGNORE_INDEX, describe_set,
                                      num_seg_classes)
from .seg_head import LOSS_SEG, SegTaskMixin

MMSEG_PREFIX = 'mmseg.'


def is_mmseg_head(cfg) -> bool:
    """True for a head config whose type names an mmseg module
    (``'mmseg.FCNHead'``)."""
    return cfg is not None and str(cfg.get('type',
                                           '')).startswith(MMSEG_PREFIX)


@MODELS.register_module()
class MMSegDecodeHead(SegTaskMixin, BaseModule):
    """Runs an mmseg decode head on the neck's levels; loss and prediction
    are BlitzNet's (``SegTaskMixin``): an image without a mask is ignored,
    never background, and ``pred_sem_seg`` is the same label map. No mmseg
    code is copied: the head is built from mmseg's registry and only its
    ``forward`` is used (its own ``loss_decode`` is not).

    ``BlitzNet`` wraps a ``seg_head`` whose type starts with ``mmseg.`` in
    this adapter, so a config can say
    ``seg_head=dict(type='mmseg.DepthwiseSeparableASPPHead', ...)``.

    Args:
        decode_head (dict): The mmseg head config (``in_channels``,
            ``in_index``, ``channels``, ...); its ``num_classes`` is set
            here to K (``num_classes`` + 1 with background) and must not
            disagree.
        num_classes (int): Named segmentation classes (as
            ``BlitzNetSegHead``).
        background (bool): Label 0 is a background class (as
            ``BlitzNetSegHead``). Defaults to True.
        ignore_index (int): Ignored label. Defaults to 255.
        loss_seg (dict): Pixel loss (as ``BlitzNetSegHead``).
        loss_at (str): 'logits' or 'input' (as ``BlitzNetSegHead``).
        max_upsample_elements (int): As ``BlitzNetSegHead``.
        init_cfg (dict, optional): Unused; the mmseg head initialises
            itself.

    Raises:
        ValueError: if ``decode_head.num_classes`` is not K.

    Inputs: tuple of neck levels (N, C_k, h_k, w_k), finest first.
    Output of ``forward``: logits (N, K, h, w) at the resolution the
    mmseg head gives (DeepLabv3+: its low-level input's).
    """

    def __init__(self,
                 decode_head: ConfigType,
                 num_classes: int = 20,
                 background: bool = True,
                 ignore_index: int = IGNORE_INDEX,
                 loss_seg: ConfigType = LOSS_SEG,
                 loss_at: str = 'logits',
                 max_upsample_elements: int = 2**27,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        from mmseg.registry import MODELS as SEG_MODELS
        from mmseg.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        cfg = copy.deepcopy(dict(decode_head))
        cfg['type'] = cfg['type'][len(MMSEG_PREFIX):] \
            if cfg['type'].startswith(MMSEG_PREFIX) else cfg['type']
        want = num_seg_classes(num_classes, background)
        if cfg.get('num_classes', want) != want:
            raise ValueError(
                f"{cfg['type']}: num_classes={cfg['num_classes']}, BlitzNet "
                f'segments {want} classes ('
                f'{describe_set(num_classes, background)}: '
                'model.seg_num_classes, model.seg_background); leave it out '
                'of the head config')
        # the head's own loss is never called; this one builds quietly
        cfg.setdefault(
            'loss_decode',
            dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                avg_non_ignore=True))
        cfg.update(num_classes=want, ignore_index=ignore_index)
        # built in mmseg's scope (the runner's default scope is mmdet)
        with DefaultScope.overwrite_default_scope('mmseg'):
            self.head = SEG_MODELS.build(cfg)
        self.num_classes = num_classes
        self.background = background
        self.ignore_index = ignore_index
        self.loss_at = loss_at
        self.max_upsample_elements = max_upsample_elements
        self.loss_seg = MODELS.build(loss_seg)

    def forward(self, x: Tuple[Tensor]) -> Tensor:
        return self.head(list(x))


def wrap_mmseg_head(cfg: ConfigType):
    """``seg_head=dict(type='mmseg.X', ...)`` -> the ``MMSegDecodeHead``
    config around it (``num_classes`` and ``background`` moved to the
    adapter); any other
    config unchanged."""
    if not is_mmseg_head(cfg):
        return cfg
    cfg = dict(cfg)
    adapter = {
        k: cfg.pop(k)
        for k in ('num_classes', 'background', 'loss_seg', 'loss_at',
                  'max_upsample_elements') if k in cfg
    }
    if 'ignore_index' in cfg:
        adapter['ignore_index'] = cfg.pop('ignore_index')
    return dict(type='MMSegDecodeHead', decode_head=cfg, **adapter)
