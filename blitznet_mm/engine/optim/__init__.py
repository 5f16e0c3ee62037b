from .amp import BF16OptimWrapper, configure_amp

__all__ = ['BF16OptimWrapper', 'configure_amp']
