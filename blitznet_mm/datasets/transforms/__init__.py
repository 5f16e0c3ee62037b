from .crop import MinCoverageRandomCrop
from .loading import LoadBlitzNetAnnotations, instances_to_semantic

__all__ = ['LoadBlitzNetAnnotations', 'instances_to_semantic',
           'MinCoverageRandomCrop']
