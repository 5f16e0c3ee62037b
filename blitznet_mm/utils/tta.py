"""``tools/test.py --tta``: a config's model wrapped in
:class:`~blitznet_mm.models.BlitzNetTTAModel` and its test pipeline turned
into mmcv's ``TestTimeAug`` (flips x scales), both derived from what the
config already states (docs/tools.md, "Test-time augmentation")."""
import copy
from typing import Sequence

RESIZES = ('Resize', 'mmdet.Resize', 'FixShapeResize')
FLIP_KEYS = ('flip', 'flip_direction')


def tta_pipeline(test_pipeline: Sequence[dict],
                 scale_factors: Sequence[float] = (1.0, ),
                 flip: bool = True) -> list:
    """The test pipeline as ``TestTimeAug``: its first resize at each of
    ``scale_factors`` times its scale, each optionally also horizontally
    flipped; the steps after the resize run on every view, ``PackDetInputs``
    also packing ``flip`` / ``flip_direction`` (what the merge undoes).

    Raises:
        ValueError: the pipeline has no resize to scale, or a factor is not
            positive.
    """
    steps = [copy.deepcopy(dict(t)) for t in test_pipeline]
    at = next((i for i, t in enumerate(steps) if t['type'] in RESIZES), None)
    if at is None:
        raise ValueError('--tta: the test pipeline has no Resize to scale '
                         f'(steps: {[t["type"] for t in steps]}); give the '
                         'config a tta_pipeline')
    if not scale_factors or min(scale_factors) <= 0:
        raise ValueError(f'--tta: scale factors must be > 0, got '
                         f'{list(scale_factors)}')
    resize = steps[at]
    w, h = resize['scale'] if isinstance(resize['scale'], (tuple, list)) \
        else (resize['scale'], resize['scale'])
    resizes = [
        dict(resize, scale=(round(w * f), round(h * f))) for f in scale_factors
    ]
    # RandomFlip(prob=0) still writes flip=False, which the merge reads
    flips = [
        dict(type='RandomFlip', prob=p) for p in ((1., 0.) if flip else (0., ))
    ]
    after = []
    for t in steps[at + 1:]:
        if t['type'].endswith('PackDetInputs') and 'meta_keys' in t:
            t['meta_keys'] = tuple(t['meta_keys']) + tuple(
                k for k in FLIP_KEYS if k not in t['meta_keys'])
        after.append([t])
    transforms = [resizes, flips] + after
    return steps[:at] + [dict(type='TestTimeAug', transforms=transforms)]


def apply_tta(cfg) -> None:
    """In place: ``cfg.model`` becomes ``cfg.tta_model`` around it
    (default ``BlitzNetTTAModel``; ``tta_cfg`` defaults to the model's
    own test-time ``nms`` and ``max_per_img``), the test dataloader runs
    ``cfg.tta_pipeline``, or one derived by :func:`tta_pipeline` from the
    test pipeline with ``cfg.tta_scale_factors`` and ``cfg.tta_flip``."""
    tta_model = copy.deepcopy(
        cfg.get('tta_model', None) or dict(type='BlitzNetTTAModel'))
    test_cfg = cfg.model.get('test_cfg', None) or {}
    if tta_model.get('tta_cfg') is None:
        tta_model['tta_cfg'] = dict(
            nms=test_cfg.get('nms'), max_per_img=test_cfg.get('max_per_img'))
    dataset = cfg.test_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset  # wrappers (ConcatDataset, ...)
    pipeline = cfg.get('tta_pipeline', None) or tta_pipeline(
        dataset.pipeline, cfg.get('tta_scale_factors',
                                  (1.0, )), cfg.get('tta_flip', True))
    dataset.pipeline = pipeline
    tta_model['module'] = cfg.model
    cfg.model = tta_model
