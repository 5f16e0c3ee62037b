from .blitznet_neck import BlitzNetNeck
from .downscale import DownscaleBlock
from .fusion_blocks import (HourglassFusion, RefineFusion, ResSkip,
                            ResSkipNoResidual)
from .rfb import RFB, RFBNeck

__all__ = [
    'BlitzNetNeck', 'DownscaleBlock', 'ResSkip', 'ResSkipNoResidual',
    'HourglassFusion', 'RefineFusion', 'RFB', 'RFBNeck'
]
