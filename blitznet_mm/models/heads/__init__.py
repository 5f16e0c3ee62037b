from .anchor_generator import BlitzNetAnchorGenerator, blitznet_anchor_sides
from .det_head import BlitzNetDetHead
from .hard_negative_mining import hard_negative_mask
from .postprocess import per_class_nms
from .mmseg_head import MMSegDecodeHead
from .seg_head import BlitzNetSegHead, SegTaskMixin, gt_sem_seg_batch

__all__ = ['BlitzNetAnchorGenerator', 'blitznet_anchor_sides',
           'BlitzNetDetHead', 'BlitzNetSegHead', 'hard_negative_mask',
           'per_class_nms', 'gt_sem_seg_batch', 'MMSegDecodeHead', 'SegTaskMixin']
