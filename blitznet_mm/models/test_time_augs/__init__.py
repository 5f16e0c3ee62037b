from .blitznet_tta import BlitzNetTTAModel, merge_seg_probs

__all__ = ['BlitzNetTTAModel', 'merge_seg_probs']
