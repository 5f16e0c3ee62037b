"""demo/image_demo.py on awkward inputs (issue 7): each image gives a result
or a clear error, a folder run skips bad files and finishes the rest."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from blitznet_mm.testing.builders import REPO, build_model
from blitznet_mm.testing.tool_runs import run_script

CFG = osp.join(REPO, 'configs', 'blitznet300_coco_mini.py')
DEMO = osp.join(REPO, 'demo', 'image_demo.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A randomly initialised BlitzNet300 (COCO head) checkpoint."""
    path = tmp_path_factory.mktemp('ckpt') / 'random.pth'
    torch.manual_seed(0)
    model = build_model('blitznet300_coco_mini.py')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


def _demo(inputs, out, checkpoint, *extra):
    return run_script([
        DEMO,
        str(inputs), CFG, checkpoint, '--out-dir',
        str(out), '--score-thr', '0.0', *extra
    ],
                      timeout=900)


def _awkward_folder(folder, coco_mini):
    real = osp.join(coco_mini, 'train2017',
                    sorted(os.listdir(osp.join(coco_mini, 'train2017')))[0])
    rgb = np.asarray(Image.open(real).convert('RGB'))
    Image.fromarray(rgb).convert('L').save(folder / 'gray.png')
    Image.fromarray(rgb).convert('RGBA').save(folder / 'rgba.png')
    cv2.imwrite(
        str(folder / 'depth16.png'), rgb[..., 0].astype(np.uint16) * 257)
    Image.new('RGB', (1, 1), (200, 30, 30)).save(folder / 'one_pixel.png')
    ramp = np.linspace(0, 255, 8000, dtype=np.uint8)[None, :, None]
    Image.fromarray(np.broadcast_to(ramp, (6000, 8000, 3)).copy()).save(
        folder / 'huge_8000x6000.jpg', quality=50)
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # stored landscape, displayed rotated 90 degrees
    im.save(folder / 'exif_rotated.jpg', exif=exif)
    raw = open(real, 'rb').read()
    (folder / 'truncated.jpg').write_bytes(raw[:len(raw) // 2])
    (folder / 'corrupt.jpg').write_bytes(b'GIF87a' + bytes(range(256)) * 8)
    return rgb.shape[:2]


@pytest.mark.slow
def test_folder_of_awkward_images(tmp_path, coco_mini, checkpoint):
    folder = tmp_path / 'in'
    folder.mkdir()
    h, w = _awkward_folder(folder, coco_mini)
    res = _demo(folder, tmp_path / 'out', checkpoint)
    # the good images are drawn, but a failed input fails the run (and with
    # it `make demo`), naming the files
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]
    assert '2 of 8 inputs failed' in res.stderr
    assert 'corrupt.jpg' in res.stderr and 'truncated.jpg' in res.stderr
    with open(tmp_path / 'out' / 'results.json') as f:
        out = json.load(f)
    failed = {osp.basename(r['image']): r['error'] for r in out['failed']}
    assert sorted(failed) == ['corrupt.jpg', 'truncated.jpg']
    assert 'cannot be decoded as an image' in failed['corrupt.jpg']
    assert 'truncated JPEG' in failed['truncated.jpg']
    done = {osp.basename(r['image']): r for r in out['results']}
    assert set(done) == {
        'depth16.png', 'exif_rotated.jpg', 'gray.png', 'huge_8000x6000.jpg',
        'one_pixel.png', 'rgba.png'
    }
    for name, r in done.items():
        # a label for every pixel of the image as displayed
        assert sum(r['mask_pixels'].values()) == r['height'] * r['width']
        assert osp.isfile(r['drawn']), name
        for d in r['detections']:
            x1, y1, x2, y2 = d['bbox']
            assert 0 <= x1 <= x2 <= r['width'] and 0 <= y1 <= y2 <= r[
                'height'], (name, d)
    assert (done['gray.png']['height'], done['gray.png']['width']) == (h, w)
    assert (done['exif_rotated.jpg']['height'],
            done['exif_rotated.jpg']['width']) == (w, h)
    assert (done['one_pixel.png']['height'],
            done['one_pixel.png']['width']) == (1, 1)
    huge = done['huge_8000x6000.jpg']
    assert (huge['height'], huge['width']) == (6000, 8000)
    drawn = cv2.imread(huge['drawn'])
    assert max(drawn.shape[:2]) <= 2048  # drawn scaled, results not
    assert '6 images done, 2 skipped' in res.stdout


@pytest.mark.parametrize('case', ['missing', 'empty'])
def test_missing_path_or_empty_folder_is_a_clear_error(tmp_path, case):
    target = tmp_path / case
    if case == 'empty':
        target.mkdir()
        (target / 'notes.txt').write_text('no images here')
    res = _demo(target, tmp_path / 'out', 'unused.pth')
    assert res.returncode != 0
    assert 'Traceback' not in res.stderr
    msg = 'no such image or folder' if case == 'missing' else \
        'no image files in this folder'
    assert f'{target}: {msg}' in res.stderr


@pytest.mark.slow
def test_fast_path_flag(tmp_path, coco_mini, checkpoint):
    """--fast runs the bf16 path and writes the same kind of results."""
    folder = tmp_path / 'in'
    folder.mkdir()
    name = sorted(os.listdir(osp.join(coco_mini, 'train2017')))[1]
    (folder / name).write_bytes(
        open(osp.join(coco_mini, 'train2017', name), 'rb').read())
    res = _demo(folder, tmp_path / 'out', checkpoint, '--fast')
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    with open(tmp_path / 'out' / 'results.json') as f:
        r = json.load(f)['results'][0]
    assert sum(r['mask_pixels'].values()) == r['height'] * r['width']
    assert r['detections'] and all(0 <= d['score'] <= 1
                                   for d in r['detections'])


@pytest.mark.slow
def test_demo_results_are_the_models_predictions(tmp_path, trained):
    """demo/image_demo.py on two real images with the ``trained``
    checkpoint: results.json holds that model's own predictions (its
    test_step on the same images): every detection scoring >= 0.05 (off a
    1e-4 band at the threshold) with its class, box to 0.1 px (the json's
    rounding) and score to 1e-4, no other detection, and the label map's
    pixel count per class (to 0.1% of the image)."""
    from blitznet_mm.structures import SegLabelSet
    model, _, refs = trained
    ckpt = tmp_path / 'trained.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=model.dataset_meta)), ckpt)
    folder = tmp_path / 'in'
    folder.mkdir()
    refs = {osp.basename(r.img_path): r for r in refs[:2]}
    for name, r in refs.items():
        os.symlink(r.img_path, folder / name)
    res = _demo(folder, tmp_path / 'out', str(ckpt), '--score-thr', '0.05')
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    with open(tmp_path / 'out' / 'results.json') as f:
        done = {osp.basename(r['image']): r for r in json.load(f)['results']}
    assert set(done) == set(refs)
    classes = model.dataset_meta['classes']
    names = SegLabelSet.from_metainfo(model.dataset_meta).names
    for name, ref in refs.items():
        got, inst = done[name], ref.pred_instances
        keep = inst.scores >= 0.05
        near = ((inst.scores - 0.05).abs() < 1e-4).sum().item()
        assert keep.sum() > 0
        assert abs(len(got['detections']) - int(keep.sum())) <= near
        for b, s, lab in zip(inst.bboxes[keep], inst.scores[keep],
                             inst.labels[keep]):
            if abs(s.item() - 0.05) < 1e-4:
                continue
            assert any(d['label'] == classes[lab]
                       and abs(d['score'] - s.item()) <= 1e-4 and max(
                           abs(x - y)
                           for x, y in zip(d['bbox'], b.tolist())) <= 0.1
                       for d in got['detections']), (name, b, s, lab)
        seg = ref.pred_sem_seg.sem_seg[0]
        ids, counts = torch.unique(seg, return_counts=True)
        want = {names[i]: int(c) for i, c in zip(ids.tolist(), counts)}
        diff = sum(
            abs(got['mask_pixels'].get(k, 0) - want.get(k, 0))
            for k in set(want) | set(got['mask_pixels']))
        assert diff <= 0.001 * seg.numel(), (name, diff)
        assert (got['height'], got['width']) == tuple(seg.shape)


def _same_detections(a, b, score_tol=2e-4, box_tol=0.15):
    """Two runs' detections of one image (results.json's dicts: label,
    score to 4 decimals, box to 0.1 px) agree: the same sorted scores
    within ``score_tol``, and each detection whose score no other one of
    either run comes within ``score_tol`` of has its twin in ``b`` (label,
    box within ``box_tol`` px). Among near-equal scores the order, and so
    which of them the per-image cap keeps, is arithmetic's: a batch of 2
    runs other convolution kernels than a batch of 1 (under torch 2.1 the
    random model scores dozens of boxes 1.0)."""
    for x, y in zip(
            sorted(d['score'] for d in a), sorted(d['score'] for d in b)):
        assert abs(x - y) <= score_tol, (x, y)
    scores = [d['score'] for d in a + b]
    for d in a:
        if sum(abs(s - d['score']) <= score_tol for s in scores) > 2:
            continue  # a near tie: either may be kept, in either order
        assert any(e['label'] == d['label'] and max(
            abs(x - y) for x, y in zip(e['bbox'], d['bbox'])) <= box_tol
                   for e in b), (d, b)


@pytest.mark.slow
def test_mmdet_style_arguments_batches_and_prediction_files(
        tmp_path, coco_mini, checkpoint):
    """``inputs config --weights W`` (mmdet 3.x's form) on 3 real images:
    at --batch-size 2 the same results as one by one; --no-save-vis writes
    no drawing; preds/<image>.json is mmdet's format with the label map's
    PNG beside it, whose pixel counts are results.json's."""
    folder = tmp_path / 'in'
    folder.mkdir()
    names = sorted(os.listdir(osp.join(coco_mini, 'train2017')))[:3]
    for name in names:
        os.symlink(osp.join(coco_mini, 'train2017', name), folder / name)
    runs = {}
    for bs in (1, 2):
        out = tmp_path / f'bs{bs}'
        res = run_script([
            DEMO,
            str(folder), CFG, '--weights', checkpoint, '--out-dir',
            str(out), '--pred-score-thr', '0.05', '--batch-size',
            str(bs), '--no-save-vis', '--print-result'
        ],
                         timeout=900)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        assert 'older form' not in res.stderr
        assert "{'labels': [" in res.stdout  # --print-result
        assert not (out / 'vis').exists()
        with open(out / 'results.json') as f:
            runs[bs] = {
                osp.basename(r['image']): r
                for r in json.load(f)['results']
            }
    assert set(runs[1]) == set(runs[2]) == set(names)
    for name in names:
        a, b = runs[1][name], runs[2][name]
        assert a['drawn'] is None
        # a pixel whose two best classes tie may flip (torch 2.1: 1 of
        # an image's 480 x 640)
        assert a['mask_pixels'].keys() == b['mask_pixels'].keys()
        assert sum(
            abs(v - b['mask_pixels'][k])
            for k, v in a['mask_pixels'].items()) <= 1e-4 * a['height'] * \
            a['width']
        assert len(a['detections']) == len(b['detections']) > 0
        _same_detections(a['detections'], b['detections'])
        stem = osp.splitext(name)[0]
        with open(tmp_path / 'bs2' / 'preds' / f'{stem}.json') as f:
            pred = json.load(f)
        assert set(pred) >= {'labels', 'scores', 'bboxes', 'sem_seg_path'}
        seg = np.array(Image.open(pred['sem_seg_path']))
        assert seg.shape == (b['height'], b['width'])
        assert sum((seg == v).sum() for v in np.unique(seg)) == seg.size
        assert sorted(b['mask_pixels'].values()) == sorted(
            int((seg == v).sum()) for v in np.unique(seg))
