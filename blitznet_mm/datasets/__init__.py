from .bdd100k import BlitzNetBDD100KDataset
from .coco import BlitzNetCocoDataset, coco_subset
from .coco_panoptic import BlitzNetCocoPanopticDataset, panoptic_categories
from .coco_stuff import BlitzNetCocoStuffDataset
from .concat import SharedPipelineConcatDataset
from .panoptic_png import id_to_rgb, panoptic_semantic_map, rgb_to_id
from .seg_folder import BlitzNetSegDataset
from .seg_tasks import BlitzNetMultiTaskCocoDataset, SegTasksMixin
from .transforms import *  # noqa: F401,F403
from .validation import SkipLog, box_problem
from .voc import BlitzNetVOCDataset, voc_int_id

__all__ = [
    'BlitzNetCocoDataset', 'BlitzNetBDD100KDataset',
    'BlitzNetCocoStuffDataset', 'BlitzNetCocoPanopticDataset',
    'panoptic_categories', 'panoptic_semantic_map', 'rgb_to_id', 'id_to_rgb',
    'coco_subset', 'SharedPipelineConcatDataset', 'BlitzNetSegDataset',
    'BlitzNetMultiTaskCocoDataset', 'SegTasksMixin', 'BlitzNetVOCDataset',
    'voc_int_id', 'box_problem', 'SkipLog'
]
