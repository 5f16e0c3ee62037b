from .coco import BlitzNetCocoDataset, coco_subset
from .seg_folder import BlitzNetSegDataset
from .concat import SharedPipelineConcatDataset
from .transforms import *  # noqa: F401,F403
from .validation import SkipLog, box_problem
from .voc import BlitzNetVOCDataset, voc_int_id

__all__ = ['BlitzNetCocoDataset', 'coco_subset', 'SharedPipelineConcatDataset', 'BlitzNetSegDataset', 'BlitzNetVOCDataset', 'voc_int_id',
           'box_problem', 'SkipLog']
