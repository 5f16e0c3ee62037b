"""Export a trained BlitzNet to ONNX Runtime or OpenVINO.

    python tools/deployment/export.py CONFIG CHECKPOINT \
        --backend onnxruntime|openvino --out-dir DIR [--batch dynamic|N]
    python tools/deployment/export.py CONFIG CHECKPOINT --backend openvino \
        --precision int8 [--calib IMAGE_DIR] [--calib-num 300] --out-dir DIR

Writes DIR/<config name>.onnx (and .xml/.bin for OpenVINO). The graph
holds the network, the softmax and the box decoding for the test
pipeline's fixed S x S input; NMS and the resize of the label map to the
image stay outside, in the post-processing shared with the PyTorch path.
With ``--precision int8`` the IR is also quantized with NNCF, calibrated
on the images of ``--calib`` (or the config's test dataset), and written
as DIR/<config name>_int8.xml beside the fp32 one.
The file is a drop-in for the checkpoint in tools/test.py,
demo/image_demo.py, demo/video_demo.py and BlitzNetInferencer
(docs/deployment.md).
"""
import argparse
import os
import os.path as osp
import sys
import time

from mmdet.apis import init_detector
from mmengine.config import Config

import blitznet_mm  # noqa: F401  (registers modules, safe checkpoint loading)
from blitznet_mm.deployment import ExportGraph, export_onnx, export_openvino
from blitznet_mm.deployment.quantize import (PRESETS, calibration_inputs,
                                             quantize_openvino)


def fixed_input_size(cfg) -> tuple:
    """(H, W) of the test pipeline's ``Resize(scale=(W, H),
    keep_ratio=False)``.

    Raises:
        ValueError: if the test pipeline has no such resize (an exported
            graph has one input size).
    """
    for t in cfg.test_dataloader.dataset.get('pipeline', []):
        if t['type'] == 'Resize':
            if t.get('keep_ratio', False):
                raise ValueError('export needs a fixed S x S input: the test '
                                 'pipeline resizes with keep_ratio=True')
            w, h = t['scale']
            return int(h), int(w)
    raise ValueError('export needs a fixed S x S input: no Resize in '
                     'test_dataloader.dataset.pipeline')


def parse_batch(value: str):
    if value == 'dynamic':
        return value
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise argparse.ArgumentTypeError(f"'dynamic' or a positive int, got "
                                     f'{value!r}')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument(
        '--backend', choices=['onnxruntime', 'openvino'], required=True)
    p.add_argument('--out-dir', required=True)
    p.add_argument(
        '--batch',
        type=parse_batch,
        default='dynamic',
        help="'dynamic' (default) or a fixed batch size")
    p.add_argument('--opset', type=int, default=18)
    p.add_argument(
        '--precision',
        choices=['fp32', 'int8'],
        default='fp32',
        help='weights of the file: fp32, or int8 (OpenVINO only: '
        'NNCF post-training quantization). bf16 is chosen when '
        'an fp32 IR is loaded (tools/test.py --precision bf16)')
    p.add_argument(
        '--calib',
        help='folder of images to calibrate int8 on '
        "(default: the config's test dataset)")
    p.add_argument(
        '--calib-num',
        type=int,
        default=300,
        help='calibration images at most (default 300)')
    p.add_argument(
        '--calib-preset',
        choices=PRESETS,
        default='performance',
        help="NNCF preset: 'performance' (symmetric activations, "
        "default) or 'mixed' (asymmetric activations)")
    args = p.parse_args()
    if args.precision == 'int8' and args.backend != 'openvino':
        sys.exit('export: --precision int8 needs --backend openvino (NNCF '
                 'quantizes the OpenVINO IR)')

    cfg = Config.fromfile(args.config)
    try:
        size = fixed_input_size(cfg)
    except ValueError as e:
        sys.exit(f'export: {args.config}: {e}')
    calib = None
    if args.precision == 'int8':  # before the export: a bad folder fails fast
        try:
            calib = calibration_inputs(cfg, args.calib, args.calib_num)
        except ValueError as e:
            sys.exit(f'export: {e}')
    model = init_detector(cfg, args.checkpoint, device='cpu').eval()
    name = osp.splitext(osp.basename(args.config))[0]
    onnx_path = osp.join(args.out_dir, name + '.onnx')
    t0 = time.perf_counter()
    export_onnx(
        ExportGraph(model, size),
        onnx_path,
        model.dataset_meta,
        batch=args.batch,
        opset=args.opset)
    files = [onnx_path]
    if args.backend == 'openvino':
        files = [
            export_openvino(onnx_path, osp.join(args.out_dir, name + '.xml'))
        ]
        files.append(files[0][:-4] + '.bin')
    if calib is not None:
        files += [
            quantize_openvino(
                files[0],
                files[0][:-4] + '_int8.xml',
                calib,
                preset=args.calib_preset)
        ]
        files.append(files[-1][:-4] + '.bin')
    for f in files:
        print(f'{f}: {os.path.getsize(f) / 2**20:.1f} MiB')
    print(f'exported {args.backend} for {size[0]}x{size[1]} inputs, batch '
          f'{args.batch}, in {time.perf_counter() - t0:.1f} s')
    if calib is not None:
        print(f'int8: calibrated on {len(calib)} images (' +
              (args.calib or 'the test dataset') + ')')


if __name__ == '__main__':
    main()
