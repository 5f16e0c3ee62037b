from .sem_seg_metric import BlitzNetSegMetric
from .voc_results import BlitzNetVOCMetric, BlitzNetVOCSegMetric

__all__ = ['BlitzNetSegMetric', 'BlitzNetVOCMetric', 'BlitzNetVOCSegMetric']
