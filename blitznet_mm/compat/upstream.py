"""The private upstream methods blitznet_mm overrides or calls, with the
parameters each was written against (mmdet 3.3.0, mmengine 0.10.7, mmcv
2.1.0), and the version guard run at import (as ``mmdet/__init__.py``
checks mmcv's version).

A new upstream release that renames or reorders one of them then fails
``tests/test_compat/test_upstream_contracts.py`` and, at import, stops with the
method and both parameter lists named, instead of training with an
override that is silently no longer called.
"""
import importlib
import inspect
from typing import Dict, Tuple

from mmengine.utils import digit_version

# the ranges the overrides were checked on; mmdet 3.3's own requirements
SUPPORTED = {
    'mmdet': ('3.3.0', '3.4.0'),
    'mmengine': ('0.10.0', '1.0.0'),
    'mmcv': ('2.0.0rc4', '2.2.0'),
}

# 'module:Class.method' -> its parameters (names, in order, without self);
# the blitznet_mm module that depends on it in the comment
MIRRORED: Dict[str, Tuple[str, ...]] = {
    # engine/hooks/checkpoint_hook.py: AtomicCheckpointHook
    'mmengine.hooks:CheckpointHook._save_checkpoint_with_step':
    ('runner', 'step', 'meta'),
    # visualization/local_visualizer.py: BlitzNetLocalVisualizer
    'mmdet.visualization:DetLocalVisualizer._draw_sem_seg':
    ('image', 'sem_seg', 'classes', 'palette'),
    # ... and the font scale of its region labels, as mmdet's
    'mmdet.visualization.palette:_get_adaptive_scales': ('areas', 'min_area',
                                                         'max_area'),
    # datasets/transforms/mix_with_masks.py: the mask-carrying Mosaic
    'mmdet.datasets.transforms:Mosaic._mosaic_combine':
    ('loc', 'center_position_xy', 'img_shape_wh'),
    # datasets/transforms/crop_with_masks.py: RandomCenterCropPad + masks
    'mmdet.datasets.transforms:RandomCenterCropPad._crop_image_and_paste':
    ('image', 'center', 'size'),
    # datasets/transforms/loading.py: LoadBlitzNetAnnotations
    'mmdet.datasets.transforms:LoadAnnotations._load_seg_map': ('results', ),
    # datasets/voc.py: BlitzNetVOCDataset
    'mmdet.datasets:XMLDataset._parse_instance_info': ('raw_ann_info',
                                                       'minus_one'),
    # models/heads/det_head.py, iou_det_head.py (called by keyword from
    # BaseDenseHead.predict_by_feat)
    'mmdet.models.dense_heads.base_dense_head:'
    'BaseDenseHead._predict_by_feat_single':
    ('cls_score_list', 'bbox_pred_list', 'score_factor_list', 'mlvl_priors',
     'img_meta', 'cfg', 'rescale', 'with_nms'),
    'mmdet.models.dense_heads:SSDHead._init_layers': (),
    # models/utils/variance_scaling.py: the authors' initialiser
    'mmengine.model.weight_init:BaseInit._get_init_info': (),
    # apis/inferencer.py: BlitzNetInferencer
    'mmengine.infer:BaseInferencer._load_model_from_metafile': ('model', ),
    'mmengine.infer:BaseInferencer._init_model': ('cfg', 'weights', 'device'),
    'mmengine.infer:BaseInferencer._init_visualizer': ('cfg', ),
    'mmdet.apis:DetInferencer._init_visualizer': ('cfg', ),
    # models/detectors/blitznet.py, deployment/backend_model.py
    'mmdet.models.detectors:BaseDetector._forward': ('batch_inputs',
                                                     'batch_data_samples'),
    # models/test_time_augs/blitznet_tta.py: BlitzNetTTAModel
    'mmdet.models.test_time_augs:DetTTAModel._merge_single_sample':
    ('data_samples', ),
}


def resolve(path: str):
    """'module:Class.method' -> the function."""
    module, attr = path.split(':')
    obj = importlib.import_module(module)
    for name in attr.split('.'):
        obj = getattr(obj, name)
    return obj


def parameters(func) -> Tuple[str, ...]:
    """Parameter names of ``func`` in order, without ``self``."""
    return tuple(p for p in inspect.signature(func).parameters if p != 'self')


def check_versions() -> None:
    """Raises ImportError naming the package, its version and the range
    blitznet_mm supports."""
    for pkg, (low, high) in SUPPORTED.items():
        have = importlib.import_module(pkg).__version__
        if not digit_version(low) <= digit_version(have) < digit_version(high):
            raise ImportError(
                f'blitznet_mm needs {low} <= {pkg} < {high}, found {have} '
                '(requirements/stack.txt pins the tested versions)')


def check_mirrored() -> None:
    """Raises ImportError naming each private upstream method whose
    parameters differ from those blitznet_mm's override was written for."""
    wrong = []
    for path, expected in MIRRORED.items():
        try:
            found = parameters(resolve(path))
        except (ImportError, AttributeError) as e:
            wrong.append(f'{path}: missing ({e})')
            continue
        if found != expected:
            wrong.append(f'{path}: expected {expected}, found {found}')
    if wrong:
        raise ImportError('blitznet_mm overrides private upstream methods '
                          'that changed in this mmdet/mmengine release:\n  ' +
                          '\n  '.join(wrong))
