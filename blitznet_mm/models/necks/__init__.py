from .blitznet_neck import BlitzNetNeck
from .downscale import DownscaleBlock
from .fusion_blocks import (HourglassFusion, RefineFusion, ResSkip,
                            ResSkipNoResidual)

__all__ = ['BlitzNetNeck', 'DownscaleBlock', 'ResSkip', 'ResSkipNoResidual',
           'HourglassFusion', 'RefineFusion']
