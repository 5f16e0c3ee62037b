from .local_visualizer import BlitzNetLocalVisualizer, sem_seg_to_det_labels

__all__ = ['BlitzNetLocalVisualizer', 'sem_seg_to_det_labels']
