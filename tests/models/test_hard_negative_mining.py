import torch

from blitznet_mm.models.heads import hard_negative_mask


def test_per_image_mining_keeps_three_hardest_per_positive():
    loss = torch.tensor([[5., .1, .9, .8, .7, .6, .2, .3],
                         [1., 2., 3., 4., 5., 6., 7., 8.]])
    pos = torch.zeros(2, 8, dtype=torch.bool)
    pos[0, 0] = True  # image 0: one positive; image 1: none
    neg = ~pos
    mask = hard_negative_mask(loss, pos, neg, 3, per_image=True)
    assert mask[0].nonzero().squeeze(1).tolist() == [2, 3, 4]
    assert not mask[1].any()  # mmdet: no positives, no negatives


def test_batch_mining_spends_the_budget_across_images():
    loss = torch.tensor([[5., .1, .9, .8, .7, .6, .2, .3],
                         [1., 2., 3., 4., 5., 6., 7., 8.]])
    pos = torch.zeros(2, 8, dtype=torch.bool)
    pos[0, 0] = True
    mask = hard_negative_mask(loss, pos, ~pos, 3, per_image=False)
    assert mask.sum() == 3
    assert mask[1].nonzero().squeeze(1).tolist() == [5, 6, 7]


def test_mining_never_selects_non_candidates_and_clamps():
    loss = torch.rand(1, 10)
    pos = torch.zeros(1, 10, dtype=torch.bool)
    pos[0, :5] = True
    neg = torch.zeros(1, 10, dtype=torch.bool)
    neg[0, 8:] = True  # only two candidates for a budget of 15
    mask = hard_negative_mask(loss, pos, neg, 3)
    assert mask.nonzero()[:, 1].tolist() == [8, 9]
