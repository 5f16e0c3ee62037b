"""Hard-negative mining for the detection classification loss
(paper Sec. 3.4, docs/blitznet.md "Losses"; SSD, Liu et al. 2016, Sec. 2.2)."""
from torch import Tensor


def hard_negative_mask(loss: Tensor, pos_mask: Tensor, neg_mask: Tensor,
                       neg_pos_ratio: int = 3,
                       per_image: bool = True) -> Tensor:
    """Select the negatives with the largest classification loss.

    Args:
        loss (Tensor): (N, A) per-anchor classification loss (not reduced).
        pos_mask (Tensor): (N, A) bool, positive anchors.
        neg_mask (Tensor): (N, A) bool, candidate negative anchors.
        neg_pos_ratio (int): Negatives kept per positive. Defaults to 3.
        per_image (bool): Mine ``ratio * positives(image)`` negatives in each
            image (mmdet's SSDHead) if True; otherwise mine
            ``ratio * positives(batch)`` over the whole batch (the authors'
            code). An image without positives gets no negatives when True.

    Returns:
        Tensor: (N, A) bool mask of the selected negatives.
    """
    if not per_image:
        flat = hard_negative_mask(loss.reshape(1, -1), pos_mask.reshape(1, -1),
                                  neg_mask.reshape(1, -1), neg_pos_ratio,
                                  per_image=True)
        return flat.view_as(neg_mask)
    num_neg = (neg_pos_ratio * pos_mask.sum(dim=1, keepdim=True)).clamp(
        max=neg_mask.shape[1])
    # non-candidates rank last; losses are >= 0
    ranked = loss.detach().masked_fill(~neg_mask, -1.)
    order = ranked.argsort(dim=1, descending=True)
    rank = order.argsort(dim=1)
    return (rank < num_neg) & neg_mask
