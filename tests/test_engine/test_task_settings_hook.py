"""TaskSettingsCheckHook on a shipped config (blitznet300_coco.py on the
real COCO images of data/samples) with one setting changed: the pixel mean
(in either channel order), the input size and the ignored label must agree
between the model and its pipeline and metric, else the run stops naming
both sides."""
import pytest
from mmengine.evaluator import Evaluator

from blitznet_mm.testing.builders import load_cfg


def _runner(coco_mini, model_updates=None, evaluator=None, pipeline=None):
    """A runner-like object (model, train/val loaders, val evaluator) of
    blitznet300_coco.py: the model without weight init, the real train
    dataset of the embedded images."""
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = load_cfg('blitznet300_coco.py')
    for key, value in (model_updates or {}).items():
        cfg.merge_from_dict({f'model.{key}': value})
    data = dict(cfg.train_dataloader.dataset, data_root=coco_mini)
    if pipeline is not None:
        data['pipeline'] = pipeline(cfg.train_pipeline)
    loader = type('Loader', (), dict(dataset=DATASETS.build(data)))()
    metrics = [m for m in cfg.val_evaluator if m['type'] != 'CocoMetric']
    for m in metrics:
        m.update(evaluator or {})
    return type(
        'Runner', (),
        dict(
            model=MODELS.build(cfg.model),
            train_dataloader=loader,
            val_dataloader=loader,
            val_evaluator=Evaluator(metrics)))()


def _hook():
    from blitznet_mm.engine.hooks import TaskSettingsCheckHook
    return TaskSettingsCheckHook()


def test_shipped_config_agrees_and_the_former_name_is_registered(coco_mini):
    from mmdet.registry import HOOKS
    runner = _runner(coco_mini)
    _hook().before_train(runner)
    _hook().before_val(runner)
    assert HOOKS.get('ClassCountCheckHook') is HOOKS.get(
        'TaskSettingsCheckHook') is type(_hook())


def test_the_mean_is_compared_in_the_image_channel_order(coco_mini):
    # the same colour, stated in RGB for a model that converts to RGB
    rgb = dict({
        'data_preprocessor.mean': [123.15, 115.90, 103.06],
        'data_preprocessor.bgr_to_rgb': True
    })
    _hook().before_train(_runner(coco_mini, rgb))
    # converting to RGB with the BGR mean: the canvas is not the mean
    with pytest.raises(
            ValueError,
            match=r'ZoomOut fills with mean=\[103\.06, 115\.9, 123\.15\] '
            r'.*data_preprocessor\.mean=\[103\.06, 115\.9, 123\.15\] '
            r'\(bgr_to_rgb=True'):
        _hook().before_train(
            _runner(coco_mini, {'data_preprocessor.bgr_to_rgb': True}))


def test_the_canvas_mean_of_the_pipeline_is_checked(coco_mini):

    def grey(pipeline):
        return [
            dict(t, mean=[114, 114, 114]) if t['type'] == 'ZoomOut' else t
            for t in pipeline
        ]

    with pytest.raises(
            ValueError,
            match=r'the train pipeline of BlitzNetCocoDataset '
            r'\(.*instances_train2017\.json\): ZoomOut fills with '
            r'mean=\[114\.0, 114\.0, 114\.0\]'):
        _hook().before_train(_runner(coco_mini, pipeline=grey))


def test_a_stated_input_size_must_be_the_resize_scale(coco_mini):
    key = 'bbox_head.anchor_generator.input_size'
    _hook().before_train(_runner(coco_mini, {key: 300}))
    with pytest.raises(
            ValueError,
            match=r'Resize gives 300x300 .* but the model states '
            r'input_size=\(512, 512\)'):
        _hook().before_train(_runner(coco_mini, {key: 512}))


def test_the_ignored_label_of_pipeline_and_metric(coco_mini):
    with pytest.raises(
            ValueError,
            match=r'model\.ignore_index=254, '
            r'LoadBlitzNetAnnotations\.ignore_index=255 disagree'):
        _hook().before_train(_runner(coco_mini, {'ignore_index': 254}))
    with pytest.raises(
            ValueError,
            match=r'model\.ignore_index=255, '
            r'BlitzNetSegMetric\.ignore_index=0 disagree'):
        _hook().before_val(_runner(coco_mini, evaluator=dict(ignore_index=0)))
