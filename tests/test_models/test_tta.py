"""Test-time augmentation (``tools/test.py --tta``): the identity view
alone equals the plain test; flip-TTA of a mirrored image gives the
mirrored result; the config wiring derives everything from the config."""
import copy

import mmcv
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate

from blitznet_mm.models import BlitzNetTTAModel
from blitznet_mm.testing.builders import coco_mini_dataset, load_cfg
from blitznet_mm.utils import apply_tta, tta_pipeline

TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(300, 300), keep_ratio=False),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]


def _tta(model, **tta_cfg):
    cfg = dict(nms=dict(type='nms', iou_threshold=0.45), max_per_img=200)
    cfg.update(tta_cfg)
    tta = BlitzNetTTAModel(module=copy.deepcopy(model), tta_cfg=cfg)
    return tta.eval()


def _by_score(inst):
    order = torch.sort(inst.scores, descending=True, stable=True).indices
    return inst[order]


def test_identity_view_equals_plain_test(trained, coco_mini):
    """One view (scale 1, no flip): the same boxes, scores, labels and
    label map as the model's own test_step, on 4 real images."""
    model, _, _ = trained
    ds = coco_mini_dataset(
        coco_mini, pipeline=tta_pipeline(TEST_PIPELINE, flip=False))
    plain = coco_mini_dataset(coco_mini, pipeline=TEST_PIPELINE)
    tta = _tta(model)
    for i in range(4):
        with torch.no_grad():
            ref = model.test_step(pseudo_collate([plain[i]]))[0]
            out = tta.test_step(pseudo_collate([ds[i]]))[0]
        a, b = _by_score(ref.pred_instances), _by_score(out.pred_instances)
        assert len(a) == len(b) > 0
        torch.testing.assert_close(b.scores, a.scores, rtol=0, atol=0)
        torch.testing.assert_close(b.bboxes, a.bboxes, rtol=0, atol=0)
        assert torch.equal(b.labels, a.labels)
        assert torch.equal(out.pred_sem_seg.sem_seg, ref.pred_sem_seg.sem_seg)


def test_flip_tta_of_a_mirrored_image_is_mirrored(trained, coco_mini,
                                                  tmp_path):
    """A real image at 300 x 300 (the resize is then a copy) and its
    mirror, each through flip-TTA: the label maps are exact mirrors (the
    same two probability maps summed), the boxes mirror images (x -> W - x,
    to float rounding) with the same scores and labels."""
    # resized to the input beforehand: the pipeline's resize is a copy
    img = mmcv.imresize(
        mmcv.imread(coco_mini_dataset(coco_mini)[0]['data_samples'].img_path),
        (300, 300))
    paths = [str(tmp_path / 'a.png'), str(tmp_path / 'b.png')]
    mmcv.imwrite(img, paths[0])
    mmcv.imwrite(np.ascontiguousarray(img[:, ::-1]), paths[1])
    pipe = Compose(tta_pipeline(TEST_PIPELINE))
    tta = _tta(trained[0])
    outs = []
    for i, p in enumerate(paths):
        sample = pipe(dict(img_path=p, img_id=i))
        assert [d.flip for d in sample['data_samples']] == [True, False]
        with torch.no_grad():
            outs.append(tta.test_step(pseudo_collate([sample]))[0])
    a, b = outs
    assert torch.equal(b.pred_sem_seg.sem_seg, a.pred_sem_seg.sem_seg.flip(-1))
    assert len(torch.unique(a.pred_sem_seg.sem_seg)) > 1
    ia, ib = _by_score(a.pred_instances), _by_score(b.pred_instances)
    assert len(ia) == len(ib) > 0
    torch.testing.assert_close(ib.scores, ia.scores, rtol=0, atol=0)
    assert torch.equal(ib.labels, ia.labels)
    mirrored = ia.bboxes[:, [2, 1, 0, 3]] * torch.tensor([-1, 1, -1, 1.])
    mirrored[:, [0, 2]] += 300
    torch.testing.assert_close(ib.bboxes, mirrored, rtol=0, atol=1e-3)


def test_two_views_average_the_probabilities():
    """merge_seg_probs against the definition on a 2-class toy: view 1
    says class 0 with p = 0.6, the flipped view says class 1 with p = 0.9
    at the same (flipped-back) pixel: the mean picks class 1."""
    from blitznet_mm.models import merge_seg_probs
    meta = dict(batch_input_shape=(1, 2), img_shape=(1, 2), ori_shape=(1, 2))
    l0 = torch.log(torch.tensor([[[0.6, 0.6]], [[0.4, 0.4]]]))
    # flipped view: pixel 1 of the original is its pixel 0
    l1 = torch.log(torch.tensor([[[0.1, 0.5]], [[0.9, 0.5]]]))
    seg = merge_seg_probs(
        [l0, l1],
        [meta, dict(meta, flip=True, flip_direction='horizontal')])
    # pixel 0: (0.6 + 0.5) / 2 > (0.4 + 0.5) / 2 -> 0;
    # pixel 1: (0.6 + 0.1) / 2 < (0.4 + 0.9) / 2 -> 1
    assert seg.tolist() == [[0, 1]]


def test_apply_tta_derives_pipeline_and_nms_from_the_config():
    cfg = load_cfg('blitznet300_voc.py')
    cfg.tta_scale_factors = (1.0, 1.5)
    test_pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    model = copy.deepcopy(cfg.model)
    apply_tta(cfg)
    assert cfg.model.type == 'BlitzNetTTAModel'
    assert cfg.model.module == model
    assert cfg.model.tta_cfg.nms == model.test_cfg.nms
    assert cfg.model.tta_cfg.max_per_img == model.test_cfg.max_per_img == 200
    pipe = cfg.test_dataloader.dataset.pipeline
    assert pipe[0] == test_pipeline[0] and pipe[1].type == 'TestTimeAug'
    resizes, flips = pipe[1].transforms[:2]
    assert [r['scale'] for r in resizes] == [(300, 300), (450, 450)]
    assert [f['prob'] for f in flips] == [1., 0.]
    assert 'flip' in pipe[1].transforms[-1][0]['meta_keys']
    with pytest.raises(ValueError, match='no Resize'):
        tta_pipeline([dict(type='LoadImageFromFile')])


def test_tta_runner_scores_a_real_set(coco_mini, tmp_path):
    """apply_tta + mmengine's Runner.test (what tools/test.py --tta does)
    on 2 real images at two scales x flips: COCO AP and mIoU come out."""
    from mmengine.runner import Runner
    cfg = load_cfg('blitznet300_coco_mini.py')
    cfg.work_dir = str(tmp_path)
    cfg.tta_scale_factors = (1.0, 1.25)
    cfg.test_dataloader.dataset.update(data_root=coco_mini + '/', indices=2)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_evaluator[0].ann_file = \
        coco_mini + '/annotations/instances_train2017.json'
    apply_tta(cfg)
    metrics = Runner.from_cfg(cfg).test()
    assert 0 <= metrics['coco/bbox_mAP_50'] <= 1
    assert 0 <= metrics['sem_seg/mIoU'] <= 100
