from .data_preprocessor import BlitzNetDataPreprocessor

__all__ = ['BlitzNetDataPreprocessor']
