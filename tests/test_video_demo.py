"""demo/video_demo.py on a short video the test writes from real images,
with an exported model and with the checkpoint."""
import os
import os.path as osp
import re

import cv2
import pytest

from blitznet_mm.testing.builders import REPO, config_path
from blitznet_mm.testing.scripts import exit_message, load_script
from blitznet_mm.testing.tool_runs import run_script

DEMO = osp.join(REPO, 'demo', 'video_demo.py')
CFG = config_path('blitznet300_coco_mini.py')


def _write_video(coco_mini, path, frames=4, size=(320, 240), fourcc='mp4v'):
    folder = osp.join(coco_mini, 'train2017')
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*fourcc), 5, size)
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
def test_video_demo_draws_every_frame(exported, coco_mini, tmp_path, backend):
    video = tmp_path / 'in.mp4'
    _write_video(coco_mini, video)
    assert _frames(video)[0] == 4
    out = tmp_path / 'out.mp4'
    res = run_script([
        DEMO,
        str(video), CFG, exported[backend], '--out',
        str(out), '--score-thr', '0.1'
    ],
                     timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert re.search(
        r'4 frames: model \d+\.\d\d FPS, with drawing and '
        r'video I/O \d+\.\d\d FPS', res.stdout)
    assert _frames(out) == (4, (320, 240))


def test_video_demo_names_a_missing_or_bad_source(tmp_path):
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video')
    for source, msg in ((tmp_path / 'none.mp4', 'no such video file'),
                        (bad, 'cannot be decoded as a video')):
        stop = exit_message('demo/video_demo.py', source, CFG, 'unused.pth',
                            '--out', tmp_path / 'o.mp4')
        assert stop == f'video_demo: {source}: {msg}'


def _load_demo():
    return load_script('demo/video_demo.py')


@pytest.mark.slow
def test_video_demo_reads_a_stream_url(coco_mini, tmp_path):
    """A real clip served over HTTP by a local server opens by URL, frame
    for frame the file's; a URL nothing answers is named in the error.
    Motion JPEG in AVI, as IP cameras stream: readable front to back (an
    MP4 needs range requests, which http.server does not serve)."""
    import functools
    import http.server
    import threading
    video = tmp_path / 'clip.avi'
    _write_video(coco_mini, video, fourcc='MJPG')
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    demo = _load_demo()
    try:
        url = f'http://127.0.0.1:{server.server_address[1]}/clip.avi'
        assert demo.is_stream_url(url) and not demo.is_stream_url(str(video))
        cap, ref = demo.open_source(url), cv2.VideoCapture(str(video))
        n = 0
        while True:
            ok, frame = cap.read()
            ok_ref, frame_ref = ref.read()
            assert ok == ok_ref
            if not ok:
                break
            assert (frame == frame_ref).all()
            n += 1
        assert n == 4
    finally:
        server.shutdown()
        # closed, the port refuses at once; left listening, the dead-URL
        # open below would wait for FFmpeg's 30 s timeout
        server.server_close()
    dead = f'http://127.0.0.1:{server.server_address[1]}/clip.avi'
    with pytest.raises(ValueError, match=f'stream {re.escape(dead)} cannot'):
        demo.open_source(dead)
