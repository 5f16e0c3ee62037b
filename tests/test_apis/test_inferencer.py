"""BlitzNetInferencer: mmdet's DetInferencer whose predictions keep the
semantic label map, from a checkpoint or an exported model."""
import json
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch

from blitznet_mm.apis import BlitzNetInferencer
from blitznet_mm.testing.builders import (config_path, mask_agreement,
                                          matched_detections)

CFG = config_path('blitznet300_coco_mini.py')


def _images(coco_mini, n=2):
    folder = osp.join(coco_mini, 'train2017')
    return [osp.join(folder, f) for f in sorted(os.listdir(folder))[:n]]


def _as_sample(pred):
    """An inferencer prediction (dict of lists and the label map) as a
    DetDataSample, for conftest's comparisons."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData, PixelData
    ds = DetDataSample()
    ds.pred_instances = InstanceData(
        bboxes=torch.tensor(pred['bboxes'], dtype=torch.float32).view(-1, 4),
        scores=torch.tensor(pred['scores']),
        labels=torch.tensor(pred['labels'], dtype=torch.long))
    ds.pred_sem_seg = PixelData(
        sem_seg=torch.from_numpy(pred['sem_seg'].astype(np.int64))[None])
    return ds


@pytest.mark.slow
@pytest.mark.parametrize('weights', ['pth', 'onnx'])
def test_predictions_carry_the_label_map(exported, trained, weights):
    """The inferencer's predictions on real images are the model's own
    (``trained``'s test_step on the same images): every one of the top 100
    detections found at IoU >= 0.99 with the same class and score (1e-4),
    as many detections, label maps 99.9% equal."""
    inferencer = BlitzNetInferencer(
        CFG, exported[weights], device='cpu', show_progress=False)
    refs = {r.img_path: r for r in trained[2][:2]}
    images = list(refs)
    out = inferencer(images, no_save_vis=True)
    assert len(out['predictions']) == 2
    for path, pred in zip(images, out['predictions']):
        h, w = mmcv.imread(path).shape[:2]
        seg = pred['sem_seg']
        assert isinstance(seg, np.ndarray) and seg.shape == (h, w)
        assert seg.max() <= 80 and len(np.unique(seg)) > 1
        assert len(pred['bboxes']) == len(pred['scores']) > 0
        ref, got = refs[path], _as_sample(pred)
        assert abs(len(got.pred_instances) - len(ref.pred_instances)) <= 1
        matched, best, scores = matched_detections(ref, got, 0.99)
        assert matched.all(), (path, int((~matched).sum()))
        assert (got.pred_instances.scores[best] - scores).abs().max() <= 1e-4
        assert mask_agreement(ref, got) >= 0.999
    if weights == 'onnx':
        assert type(inferencer.model).__name__ == 'BlitzNetBackendModel'
        assert inferencer.model.dataset_meta['classes'][0] == 'person'


@pytest.mark.slow
def test_saved_json_points_to_a_lossless_label_png(exported, coco_mini,
                                                   tmp_path):
    inferencer = BlitzNetInferencer(
        CFG, exported['xml'], device='cpu', show_progress=False)
    image = _images(coco_mini, 1)[0]
    arrays = inferencer(image, no_save_vis=True)['predictions'][0]
    inferencer(
        image, out_dir=str(tmp_path), no_save_vis=True, no_save_pred=False)
    stem = osp.splitext(osp.basename(image))[0]
    with open(tmp_path / 'preds' / f'{stem}.json') as f:
        saved = json.load(f)
    png = saved['sem_seg_path']
    assert png == str(tmp_path / 'preds' / f'{stem}_sem_seg.png')
    labels = mmcv.imread(png, flag='unchanged')
    np.testing.assert_array_equal(labels, arrays['sem_seg'])
    np.testing.assert_allclose(saved['bboxes'], arrays['bboxes'], rtol=1e-6)
