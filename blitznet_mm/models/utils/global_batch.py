"""Loss normalisers over the global batch: N data-parallel processes
optimise the objective of one process holding all N x batch_size images
(the authors trained batch 32 on one GPU; docs/training_recipe.md)."""
from mmdet.utils import reduce_mean
from mmengine.dist import get_world_size
from torch import Tensor


def global_normaliser(count: Tensor) -> Tensor:
    """The divisor that makes a per-process loss sum a global batch mean.

    DDP averages gradients over the N processes, so process r's loss
    ``sum_r / (max(sum_all count, 1) / N)`` gives, after the average, the
    gradient of ``sum_all / max(sum_all count, 1)``: one process holding the
    whole batch. With one process this is ``max(count, 1)``.

    Args:
        count (Tensor): scalar, this process's count (positives, pixels).

    Returns:
        Tensor: float scalar on ``count``'s device.
    """
    return reduce_mean(count.detach().float()).clamp(min=1. / get_world_size())
