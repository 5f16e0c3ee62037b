"""The task settings a model states once (ignored label, pixel mean, input
size) compared with its data pipelines and evaluators, for
``TaskSettingsCheckHook``."""
from typing import Iterator, List, Optional


def dataset_transforms(dataset) -> Iterator:
    """Every transform of ``dataset``'s pipelines: wrapped datasets
    (``datasets``, ``dataset``) and compound transforms (``transforms``)
    included."""
    pipe = getattr(dataset, 'pipeline', None)
    yield from _flatten(getattr(pipe, 'transforms', pipe))
    for inner in getattr(dataset, 'datasets', None) or ():
        yield from dataset_transforms(inner)
    if getattr(dataset, 'dataset', None) is not None:
        yield from dataset_transforms(dataset.dataset)


def _flatten(transforms) -> Iterator:
    if not isinstance(transforms, (list, tuple)):
        return
    for t in transforms:
        yield t
        yield from _flatten(getattr(t, 'transforms', None))


def image_order_mean(preprocessor) -> Optional[List[float]]:
    """The data preprocessor's pixel mean in the loaded image's channel
    order (BGR: mmcv's; reversed when it converts to RGB first), or None
    when it does not normalise."""
    mean = getattr(preprocessor, 'mean', None)
    if mean is None or not getattr(preprocessor, '_enable_normalize', True):
        return None
    # float32 buffers: 103.06 -> 103.05999755859375
    mean = [round(float(v), 4) for v in mean.flatten()]
    return mean[::-1] if getattr(preprocessor, '_channel_conversion',
                                 False) else mean


def check_mean(model, transforms, where: str) -> None:
    """The canvas colour of each zoom-out / expand / centre-crop-pad
    transform (mmdet's ``Expand``, ``ZoomOut``, ``RandomCenterCropPad``:
    their ``mean``, in the image's channel order) must be the model's pixel
    mean, so that the canvas normalises to 0.

    Raises:
        ValueError: naming the transform, both means and where.
    """
    from mmdet.datasets.transforms import Expand, RandomCenterCropPad
    pre = getattr(model, 'data_preprocessor', None)
    want = image_order_mean(pre)
    if want is None:
        return
    rgb = bool(getattr(pre, '_channel_conversion', False))
    for t in transforms:
        if not isinstance(t, (Expand, RandomCenterCropPad)):
            continue
        have = [float(v) for v in t.mean]
        if len(have) != len(want) or \
                max(abs(a - b) for a, b in zip(have, want)) > 1e-3:
            stated = want[::-1] if rgb else want
            raise ValueError(
                f'{where}: {type(t).__name__} fills with mean={have} (BGR, '
                'the image order) but the model normalises with '
                f'data_preprocessor.mean={stated} (bgr_to_rgb={rgb}, BGR '
                f'{want}); state the mean once and use it in both')


def check_input_size(model, transforms, where: str) -> None:
    """A fixed-size ``Resize`` (``keep_ratio=False``) must give the input
    size the model states (its anchor generator's ``input_size``), if it
    states one.

    Raises:
        ValueError: naming both sizes (height, width) and where.
    """
    from mmcv.transforms import Resize
    gen = getattr(getattr(model, 'bbox_head', None), 'prior_generator', None)
    size = getattr(gen, 'input_size', None)
    if size is None:
        return
    for t in transforms:
        if isinstance(t, Resize) and not t.keep_ratio and t.scale:
            hw = (int(t.scale[1]), int(t.scale[0]))  # mmcv's scale: (w, h)
            if hw != tuple(size):
                raise ValueError(
                    f'{where}: Resize gives {hw[0]}x{hw[1]} (scale='
                    f'{tuple(t.scale)}, w x h) but the model states input_'
                    f'size={tuple(size)} (bbox_head.anchor_generator.'
                    'input_size, h x w); state the size once')


def check_ignore_index(model, transforms, evaluator, where: str) -> None:
    """The pipeline's ignored label (each transform's ``ignore_index``, a
    ``Pad``'s ``pad_val['seg']``) and each ``BlitzNetSegMetric``'s
    ``ignore_index`` must be ``model.ignore_index``.

    Raises:
        ValueError: naming both sides and where.
    """
    from ...evaluation.sem_seg_metric import BlitzNetSegMetric
    want = getattr(model, 'ignore_index', None)
    if want is None:
        return
    sides = []
    for t in transforms:
        if isinstance(getattr(t, 'ignore_index', None), int):
            sides.append((f'{type(t).__name__}.ignore_index', t.ignore_index))
        pad = getattr(t, 'pad_val', None)
        if isinstance(pad, dict) and 'seg' in pad:
            sides.append((f"{type(t).__name__}.pad_val['seg']", pad['seg']))
    for m in getattr(evaluator, 'metrics', None) or ():
        if isinstance(m, BlitzNetSegMetric):
            sides.append((f'{type(m).__name__}.ignore_index', m.ignore_index))
    for name, value in sides:
        if value != want:
            raise ValueError(
                f'{where}: model.ignore_index={want}, {name}={value} '
                'disagree; state the ignored label once, as '
                'model.ignore_index, and give it to the pipeline and the '
                'metric')
