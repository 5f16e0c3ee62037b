"""Helpers shared by the tests: dataset layouts written from the real
images embedded in data/samples."""
from .coco_layouts import (instance_masks, owner_map, write_coco_panoptic,
                           write_coco_stuff_pngs, write_things_stuff_layouts)

__all__ = [
    'instance_masks', 'owner_map', 'write_coco_panoptic',
    'write_coco_stuff_pngs', 'write_things_stuff_layouts'
]
