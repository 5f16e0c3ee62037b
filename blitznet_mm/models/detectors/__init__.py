from .blitznet import BlitzNet

__all__ = ['BlitzNet']
