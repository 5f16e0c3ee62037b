import torch

from blitznet_mm.models.heads import hard_negative_mask
from blitznet_mm.testing.tool_runs import fork_server


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


def _reference_batch_mask(loss, pos, neg, ratio):
    """Written from the authors' rule: k = ratio x positives of the batch,
    the k largest candidate losses; ties broken by anchor order."""
    flat, cand = loss.flatten().tolist(), neg.flatten().tolist()
    k = min(ratio * int(pos.sum()), sum(cand))
    order = sorted((i for i, c in enumerate(cand) if c),
                   key=lambda i: (-flat[i], i))
    mask = torch.zeros(loss.numel(), dtype=torch.bool)
    mask[order[:k]] = True
    return mask.view_as(loss)


def _problem(seed, ties=False):
    g = torch.Generator().manual_seed(seed)
    loss = torch.rand(4, 50, generator=g)
    if ties:  # a quarter of the losses share 4 values
        loss[:, ::4] = (torch.randint(0, 4, (4, 13), generator=g) / 4.)
    pos = torch.rand(4, 50, generator=g) < .05
    neg = ~pos & (torch.rand(4, 50, generator=g) < .8)
    neg[1] = False  # an image without boxes lends no negatives
    return loss, pos, neg


def test_batch_mining_matches_the_reference_with_ties():
    from blitznet_mm.models.heads import batch_hard_negative_mask
    for seed in range(20):
        loss, pos, neg = _problem(seed, ties=seed % 2 == 0)
        got = batch_hard_negative_mask(loss, pos, neg, 3)
        assert torch.equal(got, _reference_batch_mask(loss, pos, neg, 3))


def _mining_worker(rank, world, port, out):
    import os
    import time

    import torch.distributed as dist

    from blitznet_mm.models.heads import batch_hard_negative_mask
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        masks, times = [], []
        for seed in range(20):
            loss, pos, neg = _problem(seed, ties=seed % 2 == 0)
            part = slice(2 * rank, 2 * rank + 2)
            t = time.perf_counter()
            masks.append(
                batch_hard_negative_mask(loss[part], pos[part], neg[part], 3))
            times.append(time.perf_counter() - t)
        gathered = [None] * world
        dist.all_gather_object(gathered, (masks, times))
        if rank == 0:
            torch.save(gathered, out)
    finally:
        dist.barrier()  # torch 2.1 gloo: no rank leaves while another waits
        dist.destroy_process_group()


def test_batch_mining_over_two_processes_is_the_one_process_mining(tmp_path):
    """2 gloo processes with 2 + 2 images select exactly the negatives one
    process selects on the 4 (the global k-th largest loss, ties shared in
    process order)."""
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out = str(tmp_path / 'masks.pt')
    fork_server()  # the ranks fork from it: no new interpreters
    mp.start_processes(
        _mining_worker,
        args=(2, port, out),
        nprocs=2,
        start_method='forkserver')
    (m0, _), (m1, _) = torch.load(out)
    for seed in range(20):
        loss, pos, neg = _problem(seed, ties=seed % 2 == 0)
        got = torch.cat([m0[seed], m1[seed]])
        assert torch.equal(got, _reference_batch_mask(loss, pos, neg, 3)), seed
