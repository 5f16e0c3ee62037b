"""Reliability of training on real coco_mini images (issue 7): SIGKILL and
resume, a kill in the middle of a checkpoint write, determinism, non-finite
losses and weights, corrupt checkpoints, and 2-process CPU training with
tools/dist_train.sh. docs/reliability.md lists every case."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from blitznet_mm.testing.builders import REPO
from blitznet_mm.testing.runs import CFG, SMALL_MODEL
from blitznet_mm.testing.runs import data_options as _data_options
from blitznet_mm.testing.tool_runs import run_script
from blitznet_mm.utils import load_checkpoint_file

TRAIN = osp.join(REPO, 'tools', 'train.py')
ITERS = 2

# Loaded at interpreter start-up (PYTHONPATH): the first time a file named
# $KILL_DURING_SAVE is written, write half of it and SIGKILL the process -
# the crash a pre-empted or OOM-killed job suffers mid-save.
SITECUSTOMIZE = '''
import os
import signal
target = os.environ.get('KILL_DURING_SAVE')
if target:
    from mmengine.fileio.backends.local_backend import LocalBackend
    _put = LocalBackend.put

    def put(self, obj, filepath):
        if os.path.basename(str(filepath)) == target:
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        return _put(self, obj, filepath)

    LocalBackend.put = put
'''


def _opts(coco_mini, iters=ITERS, small=True):
    return _data_options(coco_mini) + (SMALL_MODEL if small else []) + [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        f'param_scheduler.0.end={iters}', 'param_scheduler.0.milestones=[1]',
        'randomness.seed=0', 'randomness.deterministic=True'
    ]


def _train(work, opts, cwd, extra=(), env=None, check=True):
    args = [
        TRAIN, CFG, '--work-dir',
        str(work), *extra, '--cfg-options', *opts
    ]
    if env:  # its PYTHONPATH (sitecustomize) needs a new interpreter
        res = subprocess.run([sys.executable, *args],
                             cwd=cwd,
                             capture_output=True,
                             text=True,
                             timeout=900,
                             env=dict(os.environ, **env))
    else:
        res = run_script(args, cwd=cwd, timeout=900)
    if check:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def _losses(work):
    """(iteration, loss) logged by the latest run in ``work`` (the runs'
    folders are named by their start time)."""
    run = sorted(d for d in os.listdir(work) if d[:2] == '20')[-1]
    with open(osp.join(work, run, 'vis_data', 'scalars.json')) as f:
        return [(r['iter'], r['loss']) for r in map(json.loads, f)
                if 'loss' in r]


def _ckpt(path):
    return load_checkpoint_file(str(path), map_location='cpu')  # safe load


def _assert_same_state(a, b):
    assert a['meta']['iter'] == b['meta']['iter']
    for k, v in a['state_dict'].items():
        assert torch.equal(v, b['state_dict'][k]), k
    sa, sb = a['optimizer']['state'], b['optimizer']['state']
    assert sa.keys() == sb.keys()
    for k in sa:
        for name, v in sa[k].items():
            assert torch.equal(
                torch.as_tensor(v), torch.as_tensor(sb[k][name])), (k, name)
    assert a['param_schedulers'] == b['param_schedulers']


def _workers(n):
    return [
        f'train_dataloader.num_workers={n}',
        f'train_dataloader.persistent_workers={n > 0}'
    ]


@pytest.fixture(scope='module')
def reference(tmp_path_factory, coco_mini):
    """An uninterrupted deterministic run of ITERS iterations."""
    work = tmp_path_factory.mktemp('reference')
    _train(work, _opts(coco_mini), work)
    return work


@pytest.fixture(scope='module')
def reference_workers(tmp_path_factory, coco_mini):
    """The same with 2 data-loader worker processes."""
    work = tmp_path_factory.mktemp('reference_workers')
    _train(work, _opts(coco_mini) + _workers(2), work)
    return work


@pytest.mark.slow
@pytest.mark.parametrize('workers', [0, 2])
def test_sigkill_during_checkpoint_write_then_resume(request, tmp_path,
                                                     coco_mini, workers):
    """Two seeded deterministic runs, the second SIGKILLed while iter_2 is
    half written, with max_keep_ckpts=1 (the stock hook would already have
    deleted iter_1): both log identical losses at every iteration; iter_1
    stays the last good checkpoint, and --resume (past the learning-rate
    milestone at iteration 1) reproduces the
    uninterrupted run exactly: losses, weights, optimizer, scheduler,
    iteration; also with 2 data-loader workers drawing the random
    augmentation."""
    reference = request.getfixturevalue(
        'reference_workers' if workers else 'reference')
    opts = _opts(coco_mini) + _workers(workers)
    site = tmp_path / 'site'
    site.mkdir()
    (site / 'sitecustomize.py').write_text(SITECUSTOMIZE)
    work = tmp_path / 'work'
    env = dict(
        PYTHONPATH=f'{site}{os.pathsep}'
        f'{os.environ.get("PYTHONPATH", "")}',
        KILL_DURING_SAVE=f'iter_{ITERS}.pth.tmp')
    res = _train(work, opts, tmp_path, env=env, check=False)
    assert res.returncode == -9, res.stderr[-2000:]  # SIGKILL
    losses = _losses(reference)
    assert len(losses) == ITERS and _losses(work) == losses
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_1.pth')
    assert not (work / f'iter_{ITERS}.pth').exists()
    assert _ckpt(work / 'iter_1.pth')['meta']['iter'] == 1  # loads

    res = _train(work, opts, tmp_path, extra=['--resume'])
    assert 'resumed epoch: 0, iter: 1' in res.stdout + res.stderr
    assert _losses(work) == losses[1:]
    _assert_same_state(
        _ckpt(reference / f'iter_{ITERS}.pth'),
        _ckpt(work / f'iter_{ITERS}.pth'))
    assert not (work / 'iter_1.pth').exists()  # max_keep_ckpts=1 honoured
    assert not list(work.glob('*.tmp'))


@pytest.mark.slow
def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(
        reference, tmp_path, coco_mini):
    """Resume the reference run's last checkpoint with a NaN loss weight:
    training stops at the next iteration naming loss_bbox, and that
    checkpoint stays the last one, unchanged."""
    work = tmp_path / 'work'
    work.mkdir()
    good = work / f'iter_{ITERS}.pth'
    good.write_bytes((reference / f'iter_{ITERS}.pth').read_bytes())
    (work / 'last_checkpoint').write_text(str(good))
    before = good.read_bytes()
    res = _train(
        work,
        _opts(coco_mini, iters=ITERS + 2) +
        ['model.bbox_head.loss_bbox.loss_weight=nan'],
        tmp_path,
        extra=['--resume'],
        check=False)
    err = res.stdout + res.stderr
    assert res.returncode != 0
    assert 'FloatingPointError' in err and 'loss_bbox=nan' in err
    assert f'non-finite loss at iteration {ITERS + 1}' in err
    assert not (work / f'iter_{ITERS + 2}.pth').exists()
    assert (work / 'last_checkpoint').read_text() == str(good)
    assert good.read_bytes() == before


@pytest.mark.slow
def test_non_finite_weights_are_never_saved(tmp_path, coco_mini):
    """lr=inf: the first loss is finite but the step makes the weights
    inf/NaN; the checkpoint hook refuses to save them."""
    res = _train(
        tmp_path,
        _opts(coco_mini, iters=2) + [
            'optim_wrapper.optimizer.lr=inf',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.save_optimizer=False'
        ],
        tmp_path,
        check=False)
    err = res.stdout + res.stderr
    assert res.returncode != 0 and 'NonFiniteWeightsError' in err
    assert 'iteration 1' in err and 'is not finite' in err
    assert not list(tmp_path.glob('iter_*.pth'))


@pytest.mark.slow
def test_corrupt_checkpoint_gives_a_clear_error(reference, tmp_path,
                                                coco_mini):
    raw = (reference / f'iter_{ITERS}.pth').read_bytes()
    bad = tmp_path / 'iter_x.pth'  # a name that contains none of the words
    bad.write_bytes(raw[:len(raw) // 3])
    res = _train(
        tmp_path / 'w',
        _opts(coco_mini),
        tmp_path,
        check=False,
        extra=['--resume', str(bad)])
    err = res.stderr
    assert res.returncode != 0
    assert f'CheckpointError: {bad}: not a PyTorch checkpoint, or ' \
        'truncated' in err


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(
    torch.cuda.is_available(),
    reason='tests the CPU fallback (SyncBN -> BN, gloo); '
    'with CUDA, mmengine places rank r on GPU r')
def test_dist_train_two_cpu_processes_with_syncbn_config(tmp_path, coco_mini):
    """tools/dist_train.sh CONFIG 2 on CPU (gloo), a SyncBN config: SyncBN
    falls back to BN with a warning, and the two replicas end with
    identical weights (ReplicaConsistencyHook)."""
    # the full model: with the small one a rank once died of SIGABRT at exit,
    # after both had trained and agreed, under the suite's load (not seen
    # alone, nor in any run with the full model)
    opts = _opts(
        coco_mini, iters=1, small=False) + [
            'train_dataloader.batch_size=2',
            'model.backbone.norm_cfg.type=SyncBN',
            'model.neck.norm_cfg.type=SyncBN',
            'default_hooks.checkpoint.save_optimizer=False'
        ]
    res = subprocess.run([
        'bash',
        osp.join(REPO, 'tools', 'dist_train.sh'), CFG, '2', '--work-dir',
        str(tmp_path), '--cfg-options', *opts
    ],
                         cwd=tmp_path,
                         capture_output=True,
                         text=True,
                         timeout=900,
                         env=dict(
                             os.environ,
                             PYTHON=sys.executable,
                             PORT=str(_free_port()),
                             OMP_NUM_THREADS='1'))
    log = res.stdout + res.stderr
    causes = [
        line for line in log.splitlines()
        if 'terminate called' in line or 'what()' in line
    ]
    assert res.returncode == 0, '\n'.join(causes) + log[-4000:]
    assert 'SyncBN setting(s) fall back to BN' in log
    assert 'Iter(train) [1/1]' in log
    assert 'replicas identical at iteration 1' in log
    assert 'on 2 ranks' in log
    assert (tmp_path / 'iter_1.pth').exists()
