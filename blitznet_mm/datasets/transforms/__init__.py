from .crop import (CoverageRandomCrop, box_coverage, propose_crops,
                   sample_coverage_crop)
from .crop_with_masks import RandomCenterCropPadWithMasks, RandomCropWithMasks
from .loading import LoadBlitzNetAnnotations, instances_to_semantic
from .mix_with_masks import (CachedMixUpWithMasks, CachedMosaicWithMasks,
                             MixUpWithMasks, MosaicWithMasks, mix_labels)
from .photometric import BlitzNetPhotoMetricDistortion
from .task_masks import LoadTaskMasks, PackBlitzNetInputs
from .zoom_out import ZoomOut

__all__ = [
    'LoadBlitzNetAnnotations',
    'instances_to_semantic',
    'CoverageRandomCrop',
    'box_coverage',
    'propose_crops',
    'sample_coverage_crop',
    'BlitzNetPhotoMetricDistortion',
    'ZoomOut',
    # mmdet's transforms carrying gt_seg_map (joint configs)
    'MosaicWithMasks',
    'CachedMosaicWithMasks',
    'MixUpWithMasks',
    'CachedMixUpWithMasks',
    'mix_labels',
    'RandomCropWithMasks',
    'RandomCenterCropPadWithMasks',
    'LoadTaskMasks',
    'PackBlitzNetInputs'
]
