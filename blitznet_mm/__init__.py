"""BlitzNet (Dvornik et al., ICCV 2017) for MMDetection 3.x.

Importing this package registers its modules in mmdet's registries
(``MODELS``, ``TASK_UTILS``, ``DATASETS``, ``TRANSFORMS``, ``METRICS``,
``HOOKS``).
"""
from . import compat
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .evaluation import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .utils.checkout import warn_if_other_copy
from .version import __version__  # noqa: F401
from .visualization import *  # noqa: F401,F403

# the pinned stack's workarounds (mmengine loads local checkpoints through
# blitznet_mm.utils.load_checkpoint_file; nothing is patched)
compat.apply()
# a script of a checkout that runs another, installed copy says so
warn_if_other_copy()
