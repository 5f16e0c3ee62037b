from .anchor_generator import BlitzNetAnchorGenerator, blitznet_anchor_sides
from .bisenet_head import BiSeNetSegHead
from .det_head import BlitzNetDetHead
from .hard_negative_mining import batch_hard_negative_mask, hard_negative_mask
from .iou_det_head import IoUNetDetHead, predicted_box_iou, split_box_iou
from .iou_guided_nms import iou_guided_nms, per_class_iou_guided_nms
from .mmseg_head import MMSegDecodeHead
from .multi_label_seg_head import BlitzNetMultiLabelSegHead
from .postprocess import decode_boxes, per_class_nms
from .seg_head import BlitzNetSegHead, SegTaskMixin, gt_sem_seg_batch

__all__ = [
    'BlitzNetAnchorGenerator', 'blitznet_anchor_sides', 'BlitzNetDetHead',
    'BlitzNetSegHead', 'hard_negative_mask', 'batch_hard_negative_mask',
    'per_class_nms', 'decode_boxes', 'gt_sem_seg_batch', 'MMSegDecodeHead',
    'SegTaskMixin', 'BiSeNetSegHead', 'BlitzNetMultiLabelSegHead',
    'IoUNetDetHead', 'predicted_box_iou', 'split_box_iou', 'iou_guided_nms',
    'per_class_iou_guided_nms'
]
