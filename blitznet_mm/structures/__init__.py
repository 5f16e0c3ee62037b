from .seg_labels import (BACKGROUND, IGNORE_INDEX, det_to_seg_label,
                         num_seg_classes, seg_class_names,
                         seg_to_det_label)

__all__ = ['BACKGROUND', 'IGNORE_INDEX', 'det_to_seg_label',
           'seg_to_det_label', 'num_seg_classes', 'seg_class_names']
