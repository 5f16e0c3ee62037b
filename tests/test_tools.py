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
