"""Run BlitzNet on a video file or a camera: boxes and the semantic mask
drawn on every frame with the frames per second, written to a video and/or
shown in a window.

    python demo/video_demo.py VIDEO_OR_CAMERA_INDEX CONFIG MODEL
        [--out out.mp4] [--show] [--score-thr 0.3] [--device cpu]
        [--precision fp32|bf16] [--max-frames N]

MODEL is a .pth checkpoint or a model exported by tools/deployment/export.py
(.onnx / .xml). The FPS drawn and printed counts the model (pre-processing,
network, post-processing), not the drawing or the video I/O.
"""
import argparse
import os.path as osp
import sys
import time

import cv2
import torch
from mmdet.apis import inference_detector
from mmdet.registry import VISUALIZERS
from mmengine.config import Config

import blitznet_mm  # noqa: F401  (registers modules, safe checkpoint loading)
from blitznet_mm.apis import init_model
from blitznet_mm.deployment import is_exported_model

STREAM_SCHEMES = ('rtsp://', 'rtsps://', 'rtmp://', 'http://', 'https://',
                  'udp://', 'tcp://')


def is_stream_url(source: str) -> bool:
    """A network stream OpenCV opens by URL."""
    return source.lower().startswith(STREAM_SCHEMES)


def open_source(source: str) -> cv2.VideoCapture:
    """A camera for an integer, a stream for a URL (rtsp://, rtmp://,
    http(s)://, udp://: OpenCV's FFmpeg backend), else a video file.

    Raises:
        FileNotFoundError / ValueError: naming the source.
    """
    if source.isdigit():
        cap = cv2.VideoCapture(int(source))
        if not cap.isOpened():
            raise ValueError(f'camera {source} cannot be opened')
        return cap
    if is_stream_url(source):
        cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise ValueError(f'stream {source} cannot be opened (unreachable, '
                             'or a codec this OpenCV build lacks)')
        return cap
    if not osp.isfile(source):
        raise FileNotFoundError(f'{source}: no such video file')
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise ValueError(f'{source}: cannot be decoded as a video')
    return cap


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        'source',
        help='a video file, a camera index or a '
        'stream URL (rtsp://, http://, ...)')
    p.add_argument('config')
    p.add_argument('model', help='.pth checkpoint or exported .onnx/.xml')
    p.add_argument(
        '--out',
        help='write the drawn frames to this video '
        '(.mp4, mp4v codec)')
    p.add_argument('--show', action='store_true', help='show a window')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--device', default='cpu')
    p.add_argument(
        '--precision',
        choices=['fp32', 'bf16'],
        default='fp32',
        help='run-time precision of an exported OpenVINO model')
    p.add_argument(
        '--max-frames',
        type=int,
        default=0,
        help='stop after this many frames (0: all)')
    args = p.parse_args()
    if not (args.out or args.show):
        sys.exit('video_demo: give --out FILE and/or --show')
    try:
        cap = open_source(args.source)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'video_demo: {e}')

    cfg = Config.fromfile(args.config)
    pipe = cfg.test_dataloader.dataset.pipeline  # no annotations to load
    cfg.test_dataloader.dataset.pipeline = [
        t for t in pipe if t['type'] != 'LoadBlitzNetAnnotations'
    ]
    extra = dict(precision=args.precision) \
        if is_exported_model(args.model) else {}
    model = init_model(cfg, args.model, device=args.device, **extra)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta

    writer, frames, model_time = None, 0, 0.0
    t_start = time.perf_counter()
    while not args.max_frames or frames < args.max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        t0 = time.perf_counter()
        ds = inference_detector(model, frame)
        if torch.cuda.is_available():  # kernels are queued: wait for them
            torch.cuda.synchronize()
        model_time += time.perf_counter() - t0
        frames += 1
        fps = frames / model_time
        visualizer.add_datasample(
            'frame',
            frame[..., ::-1],
            ds,
            draw_gt=False,
            pred_score_thr=args.score_thr)
        drawn = visualizer.get_image()[..., ::-1].copy()
        cv2.putText(drawn, f'{fps:.1f} FPS', (10, 30),
                    cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 255, 0), 2)
        if args.out:
            if writer is None:
                rate = cap.get(cv2.CAP_PROP_FPS) or 25.0
                h, w = drawn.shape[:2]
                writer = cv2.VideoWriter(args.out,
                                         cv2.VideoWriter_fourcc(*'mp4v'), rate,
                                         (w, h))
                if not writer.isOpened():
                    sys.exit(f'video_demo: {args.out}: cannot be written')
            writer.write(drawn)
        if args.show:
            cv2.imshow('BlitzNet', drawn)
            if cv2.waitKey(1) & 0xFF in (27, ord('q')):
                break
    cap.release()
    if writer is not None:
        writer.release()
    if frames == 0:
        sys.exit(f'video_demo: {args.source}: no frame could be read')
    total = time.perf_counter() - t_start
    print(f'{frames} frames: model {frames / model_time:.2f} FPS, with '
          f'drawing and video I/O {frames / total:.2f} FPS' +
          (f'; written to {args.out}' if args.out else ''))


if __name__ == '__main__':
    main()
