"""Hard-negative mining for the detection classification loss
(paper Sec. 3.4, docs/blitznet.md "Losses"; SSD, Liu et al. 2016, Sec. 2.2),
per image or over the global batch of all processes (the authors trained
batch 32 on one GPU)."""
import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size
from torch import Tensor


def hard_negative_mask(loss: Tensor,
                       pos_mask: Tensor,
                       neg_mask: Tensor,
                       neg_pos_ratio: int = 3,
                       per_image: bool = True) -> Tensor:
    """Select the negatives with the largest classification loss.

    Args:
        loss (Tensor): (N, A) per-anchor classification loss (not reduced,
            >= 0).
        pos_mask (Tensor): (N, A) bool, positive anchors.
        neg_mask (Tensor): (N, A) bool, candidate negative anchors.
        neg_pos_ratio (int): Negatives kept per positive. Defaults to 3.
        per_image (bool): Mine ``ratio * positives(image)`` negatives in each
            image (mmdet's SSDHead) if True; otherwise mine
            ``ratio * positives(batch)`` over the whole batch (the authors'
            code) with :func:`batch_hard_negative_mask`, which spans all
            processes under data parallelism. An image without positives gets
            no negatives when True.

    Returns:
        Tensor: (N, A) bool mask of the selected negatives.
    """
    if not per_image:
        return batch_hard_negative_mask(loss, pos_mask, neg_mask,
                                        neg_pos_ratio)
    num_neg = (neg_pos_ratio *
               pos_mask.sum(dim=1, keepdim=True)).clamp(max=neg_mask.shape[1])
    # non-candidates rank last; losses are >= 0
    ranked = loss.detach().masked_fill(~neg_mask, -1.)
    order = ranked.argsort(dim=1, descending=True)
    rank = order.argsort(dim=1)
    return (rank < num_neg) & neg_mask


def batch_hard_negative_mask(loss: Tensor,
                             pos_mask: Tensor,
                             neg_mask: Tensor,
                             neg_pos_ratio: int = 3) -> Tensor:
    """The ``k = ratio * positives`` hardest negatives of the global batch
    (all processes), each process keeping its own.

    Every process sends its ``k`` largest candidate losses (one all-gather of
    ``world_size * k`` floats; e.g. 8 GPUs x 3 x 300 positives: 29 kB) and
    keeps its negatives above the global k-th largest. Losses equal to that
    threshold are taken in process order, then anchor order, so exactly
    ``k`` are kept, as with one process.

    Args:
        loss, pos_mask, neg_mask: as :func:`hard_negative_mask`, for this
            process's images.
        neg_pos_ratio (int): Negatives kept per positive.

    Returns:
        Tensor: (N, A) bool mask of this process's selected negatives.
    """
    world = get_world_size()
    counts = torch.stack([pos_mask.sum(), neg_mask.sum()])
    if world > 1:
        dist.all_reduce(counts)
    k = int(torch.minimum(neg_pos_ratio * counts[0], counts[1]))
    if k == 0:
        return torch.zeros_like(neg_mask)
    loss = loss.detach().float()
    ranked = loss.masked_fill(~neg_mask, -1.).flatten()
    top = ranked.topk(min(k, ranked.numel())).values  # descending
    top = F.pad(top, (0, k - top.numel()), value=-1.)
    tops = torch.stack(all_gather(top)) if world > 1 else top[None]
    thr = tops.flatten().topk(k).values[-1]  # >= 0: k <= all candidates
    above = neg_mask & (loss > thr)
    # ties at the threshold: the number still needed, shared in rank order
    need = k - int((tops > thr).sum())
    ties_per_rank = (tops == thr).sum(dim=1)
    rank = dist.get_rank() if world > 1 else 0
    before = int(ties_per_rank[:rank].sum())
    take = max(0, min(int(ties_per_rank[rank]), need - before))
    tied = (neg_mask & (loss == thr)).flatten()
    tied &= tied.cumsum(0) <= take
    return above | tied.view_as(neg_mask)
