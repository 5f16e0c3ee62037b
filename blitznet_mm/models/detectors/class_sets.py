"""The class counts of a BlitzNet, each stated once on the model and
given to its head: the detection classes and the segmentation label set
(``blitznet_mm.structures.seg_labels``; docs/data.md)."""
from typing import Optional

from mmdet.utils import OptConfigType


def agree_num_classes(num_classes: Optional[int], **heads) -> tuple:
    """Give ``num_classes`` to every head config that lacks it, and check
    that all agree (the detection classes; the segmentation set is
    :func:`agree_seg_classes`).

    Returns:
        tuple: the head configs (copies, in the order given) and C.

    Raises:
        ValueError: naming each head's class count when they disagree, or
            when none states one.
    """
    stated = {
        name: cfg['num_classes']
        for name, cfg in heads.items()
        if cfg is not None and cfg.get('num_classes') is not None
    }
    if num_classes is not None:
        stated = dict(model=num_classes, **stated)
    if not stated:
        raise ValueError('BlitzNet: set model.num_classes (the number of '
                         'foreground classes)')
    if len(set(stated.values())) > 1:
        counts = ', '.join(f'{k}.num_classes={v}' for k, v in stated.items())
        raise ValueError(f'BlitzNet: the class counts disagree ({counts}); '
                         'state num_classes once, on the model')
    c = next(iter(stated.values()))
    out = tuple(None if cfg is None else dict(cfg, num_classes=c)
                for cfg in heads.values())
    return out + (c, )


def agree_seg_classes(seg_num_classes: Optional[int],
                      seg_background: Optional[bool],
                      num_classes: Optional[int],
                      seg_head: OptConfigType) -> tuple:
    """The segmentation label set of the model, stated once: give it to the
    segmentation head config and check that everything that states it
    agrees (docs/data.md, "The segmentation label rule").

    The count is ``seg_num_classes``, or, when the model does not state it,
    the detection ``num_classes`` (the default set: the detection classes
    with background), or the head's own ``num_classes``. Background is
    ``seg_background``, else the head's ``background``, else True.

    Returns:
        tuple: the head config (a copy, or None), the number of named
        segmentation classes and the background flag.

    Raises:
        ValueError: naming each statement (``model.seg_num_classes``,
            ``model.num_classes``, ``seg_head.num_classes``,
            ``model.seg_background``, ``seg_head.background``) when they
            disagree, or when nothing states a count.
    """
    if seg_head is None:
        return None, seg_num_classes if seg_num_classes is not None else \
            num_classes, True if seg_background is None else seg_background
    stated = {}
    if seg_num_classes is not None:
        stated['model.seg_num_classes'] = seg_num_classes
    elif num_classes is not None:  # the default set: the detection classes
        stated['model.num_classes (no model.seg_num_classes)'] = num_classes
    if seg_head.get('num_classes') is not None:
        stated['seg_head.num_classes'] = seg_head['num_classes']
    if not stated:
        raise ValueError('BlitzNet: set model.seg_num_classes (the number of '
                         'segmentation classes) or model.num_classes')
    if len(set(stated.values())) > 1:
        counts = ', '.join(f'{k}={v}' for k, v in stated.items())
        raise ValueError(f'BlitzNet: the segmentation class counts disagree '
                         f'({counts}); state it once, as '
                         'model.seg_num_classes')
    bg = {
        k: bool(v)
        for k, v in (('model.seg_background', seg_background),
                     ('seg_head.background', seg_head.get('background')))
        if v is not None
    }
    if len(set(bg.values())) > 1:
        flags = ', '.join(f'{k}={v}' for k, v in bg.items())
        raise ValueError(f'BlitzNet: {flags} disagree; state it once, as '
                         'model.seg_background')
    n = next(iter(stated.values()))
    background = next(iter(bg.values()), True)
    return dict(seg_head, num_classes=n, background=background), n, \
        background


def _constructor_params(cfg) -> dict:
    """The constructor arguments of ``cfg``'s registered class, following
    ``**kwargs`` up its bases (name -> default); {} for an unknown type."""
    import inspect

    from mmdet.registry import MODELS
    if not isinstance(cfg, dict) or 'type' not in cfg:
        return {}
    cls = cfg['type'] if isinstance(cfg['type'], type) else \
        MODELS.get(cfg['type'])
    params = {}
    for klass in getattr(cls, '__mro__', ()):
        if '__init__' not in vars(klass):
            continue
        more = inspect.signature(klass.__init__).parameters.values()
        for p in more:
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                params.setdefault(p.name, p.default)
        if not any(p.kind == p.VAR_KEYWORD for p in more):
            break
    return params


def agree_ignore_index(ignore_index: int, data_preprocessor: OptConfigType,
                       **heads) -> tuple:
    """The ignored segmentation label of the model, stated once as
    ``model.ignore_index``: given to each segmentation head config (its
    ``ignore_index``, its ``loss_seg``'s, an mmseg decode head's) and to
    the data preprocessor's ``seg_pad_value`` (the label of the padding and
    of an image without a mask), where their classes take it.

    Returns:
        tuple: the data preprocessor config and the head configs (copies,
        or None, in the order given).

    Raises:
        ValueError: naming ``model.ignore_index`` and each statement that
            differs (``seg_head.ignore_index``,
            ``seg_head.loss_seg.ignore_index``,
            ``data_preprocessor.seg_pad_value``, ...).
    """
    stated, out = {}, []
    if isinstance(data_preprocessor, dict):
        data_preprocessor = dict(data_preprocessor)
        if data_preprocessor.get('seg_pad_value') is not None:
            stated['data_preprocessor.seg_pad_value'] = \
                data_preprocessor['seg_pad_value']
        if 'seg_pad_value' in _constructor_params(data_preprocessor):
            data_preprocessor['seg_pad_value'] = ignore_index
    for name, head in heads.items():
        if head is None:
            out.append(None)
            continue
        head = dict(head)
        if head.get('ignore_index') is not None:
            stated[f'{name}.ignore_index'] = head['ignore_index']
        for key in ('loss_seg', 'decode_head'):
            sub = head.get(key)
            if isinstance(sub, dict) and sub.get('ignore_index') is not None:
                stated[f'{name}.{key}.ignore_index'] = sub['ignore_index']
        params = _constructor_params(head)
        if 'ignore_index' in params:
            head['ignore_index'] = ignore_index
        loss = head.get('loss_seg', params.get('loss_seg'))
        if isinstance(loss, dict) and \
                'ignore_index' in {**loss, **_constructor_params(loss)}:
            head['loss_seg'] = dict(loss, ignore_index=ignore_index)
        if isinstance(head.get('decode_head'), dict):
            head['decode_head'] = dict(
                head['decode_head'], ignore_index=ignore_index)
        out.append(head)
    differ = {k: v for k, v in stated.items() if v != ignore_index}
    if differ:
        sides = ', '.join(f'{k}={v}' for k, v in differ.items())
        raise ValueError(f'BlitzNet: model.ignore_index={ignore_index}, '
                         f'{sides} disagree; state the ignored label once, '
                         'as model.ignore_index')
    return (data_preprocessor, ) + tuple(out)
