"""INT8 post-training quantization (NNCF) of the exported OpenVINO IR of the
``trained`` model (24 steps on 4 real images), calibrated on the embedded
real images, against the fp32 IR on real images (docs/deployment.md,
"INT8")."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from blitznet_mm.apis import init_model
from blitznet_mm.deployment import quantize_openvino, read_metadata
from blitznet_mm.deployment.quantize import (calibration_images,
                                             calibration_inputs,
                                             unquantized_tail)
from blitznet_mm.testing.builders import (REPO, config_path, mask_agreement,
                                          matched_detections)
from blitznet_mm.testing.runs import data_options
from blitznet_mm.testing.scripts import exit_message
from blitznet_mm.testing.tool_runs import run_script

pytest.importorskip('nncf')
CFG = config_path('blitznet300_coco_mini.py')
IMAGES = osp.join(REPO, 'data', 'samples', 'train2017')


@pytest.fixture(scope='module')
def int8(exported, tmp_path_factory):
    """The exported IR quantized on 8 embedded images (a folder, as
    ``--calib`` takes it)."""
    xs = calibration_inputs(Config.fromfile(CFG), IMAGES, num=8)
    out = tmp_path_factory.mktemp('int8') / 'model_int8.xml'
    return quantize_openvino(exported['xml'], str(out), xs)


def _predict(model, samples):
    with torch.no_grad():
        return [model.test_step(pseudo_collate([s]))[0] for s in samples]


@pytest.mark.slow
def test_int8_ir_quantizes_the_convolutions_not_the_decoding(exported, int8):
    import openvino as ov
    ops = ov.Core().read_model(int8).get_ordered_ops()
    kinds = [o.get_type_name() for o in ops]
    # activations: FakeQuantize ops; weights: int8 constants (with
    # per-channel scales) behind every convolution
    assert kinds.count('FakeQuantize') > 100
    assert kinds.count('Convolution') > 100
    for op in ops:
        if op.get_type_name() == 'Convolution':
            w = op.input(1).get_source_output().get_node()
            while w.get_type_name() != 'Constant':  # Convert, Multiply
                w = w.input(0).get_source_output().get_node()
            assert w.get_output_element_type(0) == ov.Type.i8, op
    tail = set(unquantized_tail(ov.Core().read_model(exported['xml'])))
    assert {'Softmax', 'Exp'} <= {
        o.get_type_name()
        for o in ops if o.get_friendly_name() in tail
    }
    for op in ops:  # softmax, box decoding: no quantizer on their inputs
        if op.get_friendly_name() in tail:
            assert all(i.get_source_output().get_node().get_type_name() !=
                       'FakeQuantize' for i in op.inputs()), op
    meta = read_metadata(int8)
    assert meta['precision'] == 'int8'
    assert meta['calibration']['images'] == 8
    assert meta['output_names'] == read_metadata(
        exported['xml'])['output_names']


@pytest.mark.slow
def test_int8_predictions_agree_with_fp32_on_real_images(
        trained, exported, int8):
    """On the 4 real images, against the fp32 IR: every fp32 detection
    scoring >= half the image's top score found by INT8 with the same class
    at IoU >= 0.5 (the VOC match, what AP50 counts), >= 95% of the top 100
    so matched, and label maps >= 90% equal on average (>= 80% each).

    8-bit activations round to 1/255 of each layer's calibrated range
    (bf16 to 2^-8 of each value), so small activations lose far more than
    in bf16 and the bf16 test's IoU 0.9 / 99%-of-pixels criterion is out of
    reach. Pixel agreement is the weak point on this barely trained model:
    its segmentation logits are close between classes (measured 0.98, 0.95,
    0.99 and 0.86 on the 4 images with 8 calibration images); on the
    learning-check model INT8 moves mIoU by 0.9 points (docs/deployment.md,
    "INT8")."""
    _, samples, _ = trained
    ref = _predict(init_model(CFG, exported['xml']), samples)
    outs = _predict(init_model(CFG, int8), samples)
    agree = []
    for r, o in zip(ref, outs):
        agree.append(mask_agreement(r, o))
        matched, _, scores = matched_detections(r, o, 0.5)
        confident = scores >= 0.5 * scores.max()
        assert confident.sum() >= 1
        assert matched[confident].all(), (matched[confident], scores)
        assert matched.float().mean() >= 0.95
    assert min(agree) >= 0.8 and sum(agree) / len(agree) >= 0.9, agree


def test_bad_calib_folder_stops_naming_it(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(
            ValueError, match=f'--calib {empty}: no image files.*'
            'is empty'):
        calibration_images(str(empty))
    texts = tmp_path / 'texts'
    texts.mkdir()
    (texts / 'notes.txt').write_text('not an image')
    with pytest.raises(
            ValueError,
            match=f'--calib {texts}: no image files.*'
            'holds 1 other entries: notes.txt'):
        calibration_images(str(texts))
    fake = tmp_path / 'fake'
    fake.mkdir()
    (fake / 'broken.jpg').write_text('not a jpeg')
    with pytest.raises(
            ValueError, match=f'{fake / "broken.jpg"} is not a '
            'readable image'):
        calibration_inputs(Config.fromfile(CFG), str(fake))
    # the tool stops before loading the checkpoint, with the folder named
    stop = exit_message('tools/deployment/export.py', CFG, 'unused.pth',
                        '--backend', 'openvino', '--precision', 'int8',
                        '--calib', texts, '--out-dir', tmp_path)
    assert stop.startswith(f'export: --calib {texts}: no image files')
    stop = exit_message('tools/deployment/export.py', CFG, 'unused.pth',
                        '--backend', 'onnxruntime', '--precision', 'int8',
                        '--out-dir', tmp_path)
    assert '--precision int8 needs --backend openvino' in stop


@pytest.mark.slow
def test_tools_test_runs_the_int8_ir(int8, tmp_path):
    """tools/test.py CONFIG MODEL_int8.xml scores it as any exported model
    (its parity with fp32 is the test above)."""
    res = run_script([
        osp.join(REPO, 'tools', 'test.py'), CFG, int8, '--work-dir',
        str(tmp_path), '--cfg-options',
        *data_options(osp.join(REPO, 'data', 'samples')),
        'test_dataloader.dataset.indices=4'
    ],
                     cwd=tmp_path,
                     timeout=900)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    got = {
        k: float(v)
        for k, v in re.findall(
            r'(coco/bbox_mAP|coco/bbox_mAP_50|sem_seg/mIoU): (-?[\d.]+)', log)
    }
    assert set(got) == {'coco/bbox_mAP', 'coco/bbox_mAP_50', 'sem_seg/mIoU'}
    assert got['coco/bbox_mAP_50'] > 0 and got['sem_seg/mIoU'] > 0
