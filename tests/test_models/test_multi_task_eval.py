"""Each segmentation task scored by its own BlitzNetSegMetric (what
tools/test.py reports with one metric per task): expected IoUs counted by
hand below."""
import pytest
import torch


def _t(rows):
    return torch.tensor(rows, dtype=torch.long)


META = dict(
    classes=('a', 'b'),
    seg_tasks=dict(
        fg=dict(
            seg_classes=('object', ), seg_background=True, multi_label=False),
        kinds=dict(
            seg_classes=('p', 'v'), seg_background=False, multi_label=True)))


def _samples():
    sem = _t([[0, 1, 1, 0], [0, 0, 1, 1]])[None]
    first = dict(
        img_path='a.jpg',
        pred_sem_seg=dict(sem_seg=sem),
        gt_sem_seg=dict(sem_seg=sem),
        # fg: 7 scored pixels. background: gt {00, 01, 10}, pred {00, 10,
        # 11}: 2 / 4; object: gt {02, 03, 11, 12}, pred {01, 02, 03, 12}:
        # 3 / 5
        pred_fg=dict(sem_seg=_t([[0, 1, 1, 1], [0, 0, 1, 0]])[None]),
        gt_fg=dict(sem_seg=_t([[0, 0, 1, 1], [0, 1, 1, 255]])[None]),
        # kinds, overlapping: p: pred {00, 10} (13 not scored), gt {00,
        # 01}: 1 / 3; v: equal: 4 / 4
        pred_kinds=dict(
            sem_seg=torch.stack([
                _t([[1, 0, 0, 0], [1, 0, 0, 1]]),
                _t([[1, 0, 1, 1], [0, 0, 1, 1]])
            ])),
        gt_kinds=dict(
            sem_seg=torch.stack([
                _t([[1, 1, 0, 0], [0, 0, 0, 255]]),
                _t([[1, 0, 1, 1], [0, 0, 1, 1]])
            ])))
    # an image lacking the fg and kinds masks: scored for the first only
    second = dict(
        img_path='b.jpg',
        pred_sem_seg=dict(sem_seg=sem),
        gt_sem_seg=dict(sem_seg=sem),
        pred_fg=dict(sem_seg=torch.ones_like(sem)),
        pred_kinds=dict(sem_seg=torch.ones(2, 2, 4).long()))
    return [first, second]


def test_each_task_has_its_miou():
    from mmdet.utils import register_all_modules
    from mmengine.evaluator import Evaluator

    import blitznet_mm  # noqa: F401
    register_all_modules()
    ev = Evaluator([
        dict(type='BlitzNetSegMetric', iou_metrics=['mIoU']),
        dict(
            type='BlitzNetSegMetric',
            task='fg',
            prefix='fg',
            iou_metrics=['mIoU'],
            classwise=True),
        dict(
            type='BlitzNetSegMetric',
            task='kinds',
            prefix='kinds',
            iou_metrics=['mIoU'],
            classwise=True)
    ])
    ev.dataset_meta = META
    ev.process(_samples())
    res = ev.evaluate(2)
    assert res['sem_seg/mIoU'] == 100.0
    assert res['fg/IoU.background'] == 50.0
    assert res['fg/IoU.object'] == 60.0
    assert res['fg/mIoU'] == 55.0
    assert res['kinds/IoU.p'] == pytest.approx(33.33)
    assert res['kinds/IoU.v'] == 100.0
    assert res['kinds/mIoU'] == pytest.approx(66.67)


def test_a_task_the_dataset_does_not_state_is_an_error():
    import blitznet_mm  # noqa: F401
    from blitznet_mm.evaluation.sem_seg_metric import BlitzNetSegMetric
    m = BlitzNetSegMetric(task='lanes', prefix='lanes')
    m.dataset_meta = META
    with pytest.raises(KeyError, match=r"task='lanes'.*\['fg', 'kinds'\]"):
        m.process({}, _samples())
