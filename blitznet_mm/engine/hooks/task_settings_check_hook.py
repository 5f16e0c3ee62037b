"""A check that the model and its data agree on the task settings the model
states once: the detection classes, the segmentation label set, the ignored
label, the pixel mean and the input size (docs/custom_data.md)."""
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...structures.seg_labels import SegLabelSet, describe_set
from .task_settings import (check_ignore_index, check_input_size, check_mean,
                            dataset_transforms)


def _describe(dataset) -> str:
    ann = getattr(dataset, 'ann_file', None)
    return type(dataset).__name__ + (f' ({ann})' if ann else '')


@HOOKS.register_module()
class TaskSettingsCheckHook(Hook):
    """Before training, validation and testing:

    - a model that detects: its ``num_classes`` must equal the number of
      ``classes`` in the dataset's metainfo;
    - a model that segments: its segmentation set (``seg_num_classes``
      named classes, ``seg_background``) must equal the dataset's
      (``SegLabelSet.from_metainfo``: ``seg_classes`` / ``seg_background``,
      or the detection classes with background);
    - each extra segmentation task of the model (``model.seg_tasks``) must
      have the count, background and multi-label flag the dataset's
      ``seg_tasks`` state (``seg_tasks.check_task_sets``);
    - the split's pipeline and ``BlitzNetSegMetric`` ignore
      ``model.ignore_index`` (``task_settings.check_ignore_index``);
    - the canvas colour of a zoom-out / expand transform is the data
      preprocessor's ``mean`` (``task_settings.check_mean``);
    - before training, a fixed-size ``Resize`` gives the input size the
      model states, if it states one (``task_settings.check_input_size``).

    A mismatch would train or score the wrong labels without any error, so
    it stops the run. Models without these attributes are not checked.
    Registered also as ``ClassCountCheckHook`` (its former name).

    Raises:
        ValueError: naming the split, the dataset (and its annotation file)
            and both sides (for the model, its config keys).
    """

    def _check(self, runner, split: str) -> None:
        loader = getattr(runner, f'{split}_dataloader', None)
        dataset = getattr(loader, 'dataset', None)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        where = f'the {split} pipeline of {_describe(dataset)}'
        transforms = list(dataset_transforms(dataset))
        check_mean(model, transforms, where)
        if split == 'train':  # later, the anchors follow the last batch
            check_input_size(model, transforms, where)
        evaluator = getattr(runner, f'{split}_evaluator',
                            None) if split != 'train' else None
        check_ignore_index(model, transforms, evaluator, where)
        meta = getattr(dataset, 'metainfo', None) or {}
        if not (meta.get('classes') or meta.get('seg_classes')):
            return
        expected = getattr(model, 'num_classes', None)
        classes = meta.get('classes')
        if getattr(model, 'with_bbox', True) and expected is not None and \
                classes and len(classes) != expected:
            raise ValueError(
                f'the {split} dataset {_describe(dataset)} has '
                f'{len(classes)} classes but the model has num_classes='
                f'{expected}; set model.num_classes={len(classes)} or the '
                'dataset metainfo classes')
        from ...models.detectors.seg_tasks import check_task_sets
        check_task_sets(
            getattr(model, 'seg_tasks', ()), meta,
            f'the {split} dataset {_describe(dataset)}')
        n = getattr(model, 'seg_num_classes', None)
        if not getattr(model, 'with_seg', False) or n is None:
            return
        background = bool(getattr(model, 'seg_background', True))
        labels = SegLabelSet.from_metainfo(meta)
        if (labels.num_classes, labels.background) != (n, background):
            raise ValueError(
                f'the {split} dataset {_describe(dataset)} has '
                f'{labels.describe()} for segmentation (metainfo '
                f"{'seg_classes' if meta.get('seg_classes') else 'classes'}"
                f') but the model segments {describe_set(n, background)} '
                f'(model.seg_num_classes={n}, model.seg_background='
                f'{background}); set model.seg_num_classes='
                f'{labels.num_classes}, model.seg_background='
                f'{labels.background} or the dataset metainfo seg_classes')

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')


# the former name: configs and work dirs that state it keep working
ClassCountCheckHook = TaskSettingsCheckHook
HOOKS.register_module(name='ClassCountCheckHook', module=TaskSettingsCheckHook)
