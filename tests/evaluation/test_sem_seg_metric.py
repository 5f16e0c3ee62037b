"""mIoU with the background class counted, on hand-checkable cases."""
import pytest
import torch

from blitznet_mm.evaluation import BlitzNetSegMetric


def _sample(pred, gt):
    return dict(pred_sem_seg=dict(sem_seg=torch.tensor(pred)[None]),
                gt_sem_seg=dict(sem_seg=torch.tensor(gt)[None]),
                img_path='x.jpg')


def _metric(classes=('cat', 'dog')):
    m = BlitzNetSegMetric()
    m.dataset_meta = dict(classes=classes)
    return m


def test_perfect_prediction_gives_miou_100():
    m = _metric()
    gt = [[0, 1, 2], [2, 1, 255]]
    m.process({}, [_sample([[0, 1, 2], [2, 1, 0]], gt)])
    res = m.evaluate(1)
    assert res['sem_seg/mIoU'] == 100.0 and res['sem_seg/aAcc'] == 100.0


def test_known_confusion_gives_known_iou():
    m = _metric()
    # background: 2 px right; cat (1): gt 4 px, 2 predicted as dog (2);
    # dog: gt 2 px, right. IoU bg = 1, cat = 2/4, dog = 2/4 -> mean 66.67
    gt = [[0, 0, 1, 1], [1, 1, 2, 2]]
    pred = [[0, 0, 1, 1], [2, 2, 2, 2]]
    m.process({}, [_sample(pred, gt)])
    res = m.evaluate(1)
    assert res['sem_seg/mIoU'] == pytest.approx(66.67, abs=0.01)
    assert res['sem_seg/aAcc'] == 75.0


def test_size_mismatch_is_a_clear_error():
    m = _metric()
    with pytest.raises(ValueError, match='x.jpg'):
        m.process({}, [_sample([[0, 1]], [[0, 1, 1]])])
