from .detnet import DetNet, DilatedBottleneck

__all__ = ['DetNet', 'DilatedBottleneck']
