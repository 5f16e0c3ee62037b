from .sem_seg_metric import BlitzNetSegMetric

__all__ = ['BlitzNetSegMetric']
