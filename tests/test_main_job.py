"""The main job end to end on real coco_mini images, 2 iterations: train,
resume, tools/test.py (COCO bbox AP + mIoU, --out, --show-dir), the image
demo, and `mim train` from the installed package. The tools are the
subject: they run the mini config with the small network
(``blitznet_mm.testing.runs.small_config``; the full one trains in
test_configs.py and `make demo`)."""
import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys

import pytest
import torch

from blitznet_mm.testing.builders import REPO
from blitznet_mm.testing.runs import data_options as _data_options
from blitznet_mm.testing.runs import iters as _iters
from blitznet_mm.testing.runs import small_config
from blitznet_mm.testing.tool_runs import run_script
from blitznet_mm.utils import default_dtype


def _run(args, cwd):
    res = run_script(args, cwd=cwd, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


@pytest.mark.slow
def test_train_resume_test_and_demo(tmp_path, coco_mini):
    cfg = small_config(tmp_path)
    work = str(tmp_path / 'work')
    opts = _data_options(coco_mini)
    log = _run(
        [
            osp.join(REPO, 'tools', 'train.py'), cfg, '--work-dir', work,
            '--cfg-options'
        ] + opts + _iters(2),
        cwd=tmp_path)
    assert 'Iter(train) [2/2]' in log and 'eta:' in log
    assert osp.isfile(osp.join(work, 'iter_2.pth'))

    # resume from the last checkpoint (safe loading) and go on to 3
    log = _run(
        [
            osp.join(REPO, 'tools', 'train.py'), cfg, '--work-dir', work,
            '--resume', '--cfg-options'
        ] + opts + _iters(3),
        cwd=tmp_path)
    assert 'resumed epoch: 0, iter: 2' in log
    assert osp.isfile(osp.join(work, 'iter_3.pth'))

    out = str(tmp_path / 'results.pkl')
    log = _run(
        [
            osp.join(REPO, 'tools', 'test.py'), cfg,
            osp.join(work, 'iter_3.pth'), '--work-dir', work, '--out', out,
            '--show-dir', 'vis', '--cfg-options'
        ] + opts,
        cwd=tmp_path)
    assert 'coco/bbox_mAP_50' in log and 'sem_seg/mIoU' in log
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 2 and 'pred_instances' in results[0]
    vis = [d for d in os.listdir(work) if osp.isdir(osp.join(work, d, 'vis'))]
    assert vis and len(os.listdir(osp.join(work, vis[0], 'vis'))) == 2

    # the same evaluation on the fast inference path (FastInferenceHook)
    log = _run(
        [
            osp.join(REPO, 'tools', 'test.py'), cfg,
            osp.join(work, 'iter_3.pth'), '--work-dir', work, '--fast',
            '--cfg-options'
        ] + opts,
        cwd=tmp_path)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert 'fast inference: BN folded=True, channels-last=True, ' \
        f'autocast={default_dtype(device)}' in log
    assert 'coco/bbox_mAP_50' in log and 'sem_seg/mIoU' in log

    imgs = tmp_path / 'imgs'
    imgs.mkdir()
    for name in sorted(os.listdir(osp.join(coco_mini, 'train2017')))[:2]:
        shutil.copy(osp.join(coco_mini, 'train2017', name), imgs / name)
    (imgs / 'broken.jpg').write_bytes(b'not an image')
    drawn = tmp_path / 'drawn'
    res = run_script([
        osp.join(REPO, 'demo', 'image_demo.py'),
        str(imgs), cfg,
        osp.join(work, 'iter_3.pth'), '--out-dir',
        str(drawn), '--score-thr', '0.0'
    ],
                     cwd=tmp_path,
                     timeout=900)
    # the good images are drawn; the broken one fails the run, named
    assert res.returncode == 1 and 'broken.jpg' in res.stderr, res.stderr
    with open(drawn / 'results.json') as f:
        res = json.load(f)
    assert len(res['results']) == 2 and len(res['failed']) == 1
    assert res['failed'][0]['image'].endswith('broken.jpg')
    for r in res['results']:
        assert osp.isfile(r['drawn']) and r['detections']
        assert sum(r['mask_pixels'].values()) > 0


@pytest.mark.slow
def test_mim_train_and_test_run_from_the_installed_package(
        tmp_path, coco_mini):
    cfg = small_config(tmp_path)
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    if not osp.isfile(mim):
        pytest.fail(f'{mim} missing: openmim is part of the environment')
    # the installed package's own code (`make install`), not the copy
    # conftest puts on PYTHONPATH
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    res = subprocess.run(
        [
            mim, 'train', 'blitznet_mm', cfg, '--work-dir',
            str(tmp_path / 'w'), '--cfg-options'
        ] + _data_options(coco_mini) + _iters(1) +
        ['default_hooks.checkpoint.save_optimizer=False'],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert '.mim/tools/train.py' in res.stdout
    ckpt = tmp_path / 'w' / 'iter_1.pth'
    assert osp.isfile(ckpt)
    res = subprocess.run(
        [
            mim, 'test', 'blitznet_mm', cfg, '--checkpoint',
            str(ckpt), '--work-dir',
            str(tmp_path / 't'), '--cfg-options'
        ] + _data_options(coco_mini),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert '.mim/tools/test.py' in res.stdout
    assert 'coco/bbox_mAP' in res.stdout + res.stderr
