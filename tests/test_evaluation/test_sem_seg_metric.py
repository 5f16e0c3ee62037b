"""mIoU with the background class counted, on hand-checkable cases."""
import pytest
import torch

from blitznet_mm.evaluation import BlitzNetSegMetric


def _sample(pred, gt):
    return dict(
        pred_sem_seg=dict(sem_seg=torch.tensor(pred)[None]),
        gt_sem_seg=dict(sem_seg=torch.tensor(gt)[None]),
        img_path='x.jpg')


def _metric(classes=('cat', 'dog'), **kwargs):
    m = BlitzNetSegMetric(**kwargs)
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
    assert 'sem_seg/IoU.cat' not in res


def test_classwise_iou_over_all_images():
    m = _metric(classwise=True)
    # image 1: as above (cat 2/4, dog 2/4); image 2: 2 px of cat, both
    # right, 1 px of background predicted as cat -> cat 4/(4+2+1) over both
    m.process({}, [
        _sample([[0, 0, 1, 1], [2, 2, 2, 2]], [[0, 0, 1, 1], [1, 1, 2, 2]]),
        _sample([[1, 1, 1]], [[1, 1, 0]])
    ])
    res = m.evaluate(2)
    assert res['sem_seg/IoU.background'] == pytest.approx(
        100 * 2 / 3, abs=0.01)
    assert res['sem_seg/IoU.cat'] == pytest.approx(100 * 4 / 7, abs=0.01)
    assert res['sem_seg/IoU.dog'] == 50.0
    mean = (2 / 3 + 4 / 7 + 1 / 2) / 3 * 100
    assert res['sem_seg/mIoU'] == pytest.approx(mean, abs=0.01)


def test_size_mismatch_is_a_clear_error():
    m = _metric()
    with pytest.raises(ValueError, match='x.jpg'):
        m.process({}, [_sample([[0, 1]], [[0, 1, 1]])])


def test_set_without_background_scores_its_own_classes():
    """Stuff set road / sky / car (label 0 is road, not background): road
    gt 3 px, 1 predicted sky; sky gt 2 px, right; car gt 1 px predicted
    road; 255 not scored. IoU road = 2/4, sky = 2/3, car = 0/1."""
    m = BlitzNetSegMetric(classwise=True)
    m.dataset_meta = dict(
        classes=('car', ),
        seg_background=False,
        seg_classes=('road', 'sky', 'car'))
    assert m.seg_class_names == ('road', 'sky', 'car')
    m.process({},
              [_sample([[0, 0, 1, 1, 1, 0, 2]], [[0, 0, 0, 1, 1, 2, 255]])])
    res = m.evaluate(1)
    assert res['sem_seg/IoU.road'] == 50.0
    assert res['sem_seg/IoU.sky'] == pytest.approx(100 * 2 / 3, abs=0.01)
    assert res['sem_seg/IoU.car'] == 0.0
    assert 'sem_seg/IoU.background' not in res
    assert res['sem_seg/mIoU'] == pytest.approx(
        100 * (1 / 2 + 2 / 3) / 3, abs=0.01)
    with pytest.raises(
            ValueError,
            match=r'x\.jpg: ground-truth labels \[3\] '
            'are outside the 3 labels'):
        m.process({}, [_sample([[0, 1]], [[3, 1]])])
