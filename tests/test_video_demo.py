"""demo/video_demo.py on a short video the test writes from real images,
with an exported model and with the checkpoint."""
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import pytest

from conftest import REPO, config_path

DEMO = osp.join(REPO, 'demo', 'video_demo.py')
CFG = config_path('blitznet300_coco_mini.py')


def _write_video(coco_mini, path, frames=4, size=(320, 240)):
    folder = osp.join(coco_mini, 'train2017')
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 5,
                             size)
    for name in sorted(os.listdir(folder))[:frames]:
        writer.write(cv2.resize(cv2.imread(osp.join(folder, name)), size))
    writer.release()


def _frames(path):
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    return n, (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
               int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))


@pytest.mark.slow
@pytest.mark.parametrize('backend', ['onnx', 'pth'])
def test_video_demo_draws_every_frame(exported, coco_mini, tmp_path,
                                      backend):
    video = tmp_path / 'in.mp4'
    _write_video(coco_mini, video)
    assert _frames(video)[0] == 4
    out = tmp_path / 'out.mp4'
    res = subprocess.run(
        [sys.executable, DEMO, str(video), CFG, exported[backend], '--out',
         str(out), '--score-thr', '0.1'], capture_output=True, text=True,
        timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert re.search(r'4 frames: model \d+\.\d\d FPS, with drawing and '
                     r'video I/O \d+\.\d\d FPS', res.stdout)
    assert _frames(out) == (4, (320, 240))


def test_video_demo_names_a_missing_or_bad_source(tmp_path):
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video')
    for source, msg in ((tmp_path / 'none.mp4', 'no such video file'),
                        (bad, 'cannot be decoded as a video')):
        res = subprocess.run([sys.executable, DEMO, str(source), CFG,
                              'unused.pth', '--out', str(tmp_path / 'o.mp4')],
                             capture_output=True, text=True, timeout=300)
        assert res.returncode != 0 and f'{source}: {msg}' in res.stderr
