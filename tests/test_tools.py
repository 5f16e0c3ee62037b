"""Command-line tools on real data."""
import os
import os.path as osp
import subprocess
import sys

from conftest import REPO


def test_browse_dataset_draws_augmented_samples(tmp_path, coco_mini):
    root = osp.abspath(coco_mini) + '/'
    res = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis',
                                  'browse_dataset.py'),
         osp.join(REPO, 'configs', 'blitznet300_coco_mini.py'),
         '--output-dir', str(tmp_path / 'out'), '--num', '3',
         '--cfg-options', f'train_dataloader.dataset.data_root={root}'],
        capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    files = os.listdir(tmp_path / 'out')
    assert len(files) == 3 and all(f.endswith('.jpg') for f in files)


def test_get_flops_reports_blitznet300(tmp_path):
    res = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis', 'get_flops.py'),
         osp.join(REPO, 'configs', 'blitznet300_voc.py')],
        capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    row = [r for r in res.stdout.splitlines() if 'blitznet300_voc' in r][0]
    params, gflops = (float(v) for v in row.split('|')[3:5])
    assert 55 < params < 65 and 14 < gflops < 18  # 59.4 M, 16.1 GMAC


def test_learning_check_two_iterations(tmp_path, coco_mini):
    """The CI-sized version of the learning-evidence run."""
    out = tmp_path / 'report.md'
    res = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis',
                                  'learning_check.py'),
         '--data-root', coco_mini, '--num-images', '2', '--iters', '2',
         '--eval-interval', '2', '--batch-size', '2',
         '--work-dir', str(tmp_path / 'w'), '--out', str(out)],
        capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    text = out.read_text()
    assert '| 2 |' in text and 'bbox AP@0.5' in text
