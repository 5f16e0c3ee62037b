"""A check that the model and its data agree on the number of classes."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS


def _describe(dataset) -> str:
    ann = getattr(dataset, 'ann_file', None)
    return type(dataset).__name__ + (f' ({ann})' if ann else '')


@HOOKS.register_module()
class ClassCountCheckHook(Hook):
    """Before training, validation and testing: the model's ``num_classes``
    (foreground classes, given to both heads) must equal the number of
    ``classes`` in the dataset's metainfo. A mismatch would train or score
    the wrong labels without any error, so it stops the run.

    Raises:
        ValueError: naming the split, the dataset (and its annotation file)
            and both class counts.
    """

    def _check(self, runner, split: str) -> None:
        loader = getattr(runner, f'{split}_dataloader', None)
        dataset = getattr(loader, 'dataset', None)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        expected = getattr(model, 'num_classes', None)
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        if expected is None or not classes:
            return
        if len(classes) != expected:
            raise ValueError(
                f'the {split} dataset {_describe(dataset)} has '
                f'{len(classes)} classes but the model has num_classes='
                f'{expected}; set model.num_classes={len(classes)} or the '
                'dataset metainfo classes')

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')
