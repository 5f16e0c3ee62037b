from .coco import BlitzNetCocoDataset
from .transforms import *  # noqa: F401,F403
from .voc import BlitzNetVOCDataset

__all__ = ['BlitzNetCocoDataset', 'BlitzNetVOCDataset']
