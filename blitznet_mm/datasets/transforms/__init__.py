from .crop import (CoverageRandomCrop, box_coverage, propose_crops,
                   sample_coverage_crop)
from .loading import LoadBlitzNetAnnotations, instances_to_semantic
from .photometric import BlitzNetPhotoMetricDistortion
from .zoom_out import ZoomOut

__all__ = ['LoadBlitzNetAnnotations', 'instances_to_semantic',
           'CoverageRandomCrop', 'box_coverage', 'propose_crops',
           'sample_coverage_crop', 'BlitzNetPhotoMetricDistortion', 'ZoomOut']
