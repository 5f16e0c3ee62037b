from .seg_labels import (BACKGROUND, BACKGROUND_NAME, IGNORE_INDEX,
                         SegLabelSet, describe_set, det_to_seg_label,
                         num_seg_classes, seg_class_names, seg_label_set,
                         seg_to_det_label)

__all__ = [
    'BACKGROUND', 'BACKGROUND_NAME', 'IGNORE_INDEX', 'SegLabelSet',
    'describe_set', 'det_to_seg_label', 'seg_to_det_label', 'num_seg_classes',
    'seg_class_names', 'seg_label_set'
]
