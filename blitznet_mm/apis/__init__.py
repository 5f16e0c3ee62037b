from .inference import init_model
from .inferencer import BlitzNetInferencer

__all__ = ['init_model', 'BlitzNetInferencer']
