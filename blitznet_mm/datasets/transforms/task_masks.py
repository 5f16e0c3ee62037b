"""The masks of several segmentation tasks through one pipeline
(docs/multi_task.md).

``LoadTaskMasks`` stacks each extra task's mask behind ``gt_seg_map`` as
channels (H, W, 1 + T'), so every transform that moves ``gt_seg_map``
(ZoomOut, CoverageRandomCrop, RandomFlip, Resize: slicing, ``np.flip`` and
nearest ``cv2.resize`` act on all channels alike) moves every task's mask
by the same pixels; ``PackBlitzNetInputs`` splits the channels again into
``gt_sem_seg`` (the first task) and ``gt_<name>`` per extra task.
"""
import os.path as osp

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, to_tensor
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS
from mmengine.structures import PixelData

from ...structures.seg_labels import IGNORE_INDEX

#: a multi-label PNG holds class i in bit i: at most 7 classes, so that 255
#: (all bits) stays "not scored"
MAX_MULTI_LABEL_CLASSES = 7


def decode_multi_label(mask: np.ndarray,
                       num_classes: int,
                       path: str,
                       ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """(H, W) uint8 bit mask (bit i = class i, ``ignore_index`` = not
    scored) -> (H, W, C) uint8 of 0/1/``ignore_index``.

    Raises:
        ValueError: naming ``path``, for more than 7 classes or a value
            with a bit at or above ``num_classes`` (other than
            ``ignore_index``).
    """
    if num_classes > MAX_MULTI_LABEL_CLASSES:
        raise ValueError(f'{path}: a multi-label PNG holds at most '
                         f'{MAX_MULTI_LABEL_CLASSES} classes (bit i = class '
                         f'i), the task has {num_classes}')
    ignored = mask == ignore_index
    bad = (mask >> num_classes).astype(bool) & ~ignored
    if bad.any():
        raise ValueError(
            f'{path}: values {np.unique(mask[bad])[:8].tolist()} set bits '
            f'above the {num_classes} classes of the task (bit i = class i, '
            f'{ignore_index} = not scored)')
    bits = (mask[..., None] >> np.arange(num_classes, dtype=np.uint8)) & 1
    return np.where(ignored[..., None], np.uint8(ignore_index),
                    bits.astype(np.uint8))


def read_task_mask(task: dict,
                   height: int,
                   width: int,
                   img_path: str,
                   ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """One task's mask for an image: (H, W, 1) labels, or (H, W, C) 0/1
    for a multi-label task; all ``ignore_index`` when ``task['path']`` is
    None (the image has no mask for this task).

    Raises:
        FileNotFoundError: a named mask file is missing.
        ValueError: naming the file: not single-channel, another size than
            the image, or labels outside the task's set.
    """
    channels = task['num_classes'] if task.get('multi_label') else 1
    path = task.get('path')
    if not path:
        return np.full((height, width, channels), ignore_index, np.uint8)
    if not osp.isfile(path):
        raise FileNotFoundError(f'mask {path} of task {task["name"]} of '
                                f'image {img_path} is missing')
    mask = mmcv.imread(path, flag='unchanged', backend='pillow')
    if mask.ndim != 2:
        raise ValueError(f'mask {path} (task {task["name"]}) has '
                         f'{mask.shape[-1]} channels; expected a '
                         'single-channel PNG (grayscale or palette)')
    if mask.shape != (height, width):
        raise ValueError(f'mask {path} (task {task["name"]}) is '
                         f'{mask.shape[1]}x{mask.shape[0]} but its image '
                         f'{img_path} is {width}x{height}')
    mask = mask.astype(np.uint8)
    if task.get('multi_label'):
        return decode_multi_label(mask, task['num_classes'], path,
                                  ignore_index)
    max_label = task['num_classes'] - (0
                                       if task.get('background', True) else 1)
    bad = (mask > max_label) & (mask != ignore_index)
    if bad.any():
        raise ValueError(
            f'mask {path} (task {task["name"]}) holds labels '
            f'{np.unique(mask[bad])[:8].tolist()} but its labels are '
            f'0..{max_label} ({ignore_index} = ignored)')
    return mask[..., None]


@TRANSFORMS.register_module()
class LoadTaskMasks(BaseTransform):
    """Load each extra task's mask and stack it behind ``gt_seg_map``.

    Reads ``results['seg_tasks']`` (the dataset's, one dict per task:
    ``name``, ``path`` (None: no mask for this image), ``num_classes``,
    ``background``, ``multi_label``) and writes ``gt_seg_map`` (H, W,
    1 + sum of the tasks' channels) and ``seg_task_layout`` (read by
    :class:`PackBlitzNetInputs`). Place it right after
    ``LoadBlitzNetAnnotations`` (train: before the geometric transforms;
    test: after Resize, so the masks stay at the original size).

    ZoomOut paints its canvas background (0) only where 0 means "nothing
    here" in every task: when a task has a set without background, the
    data info's ``seg_background`` becomes False and the canvas is
    ignored in all tasks (never a wrong label). A task whose image has no
    mask is all ignored whatever the transforms paint.

    Args:
        ignore_index (int): Ignored label. Defaults to 255.

    Raises:
        FileNotFoundError, ValueError: see :func:`read_task_mask`.
    """

    def __init__(self, ignore_index: int = IGNORE_INDEX) -> None:
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        h, w = results['ori_shape'][:2]
        first = results.get('gt_seg_map')
        layout = [
            dict(
                name='sem_seg',
                channels=1,
                loaded=first is not None,
                has_mask=first is not None and bool(
                    (first != self.ignore_index).any()))
        ]
        if first is None:
            first = np.full((h, w), self.ignore_index, np.uint8)
        stack = [first.astype(np.uint8)[..., None]]
        for task in results.get('seg_tasks') or ():
            mask = read_task_mask(task, h, w, results.get('img_path'),
                                  self.ignore_index)
            stack.append(mask)
            layout.append(
                dict(
                    name=task['name'],
                    channels=mask.shape[2],
                    loaded=True,
                    has_mask=task.get('path') is not None))
            if not task.get('multi_label') and \
                    not task.get('background', True):
                results['seg_background'] = False
        results['gt_seg_map'] = np.concatenate(stack, axis=2)
        results['seg_task_layout'] = layout
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ignore_index={self.ignore_index})'


@TRANSFORMS.register_module()
class PackBlitzNetInputs(PackDetInputs):
    """mmdet's ``PackDetInputs`` that first splits the stacked task masks
    of :class:`LoadTaskMasks`: ``gt_sem_seg`` (1, H, W) from the first
    channel, ``gt_<name>`` (``PixelData``, ``sem_seg`` (1, H, W), or
    (C, H, W) 0/1 for a multi-label task) per extra task the image has a
    mask of. Without ``seg_task_layout`` it is ``PackDetInputs``.

    Args:
        **kwargs: ``PackDetInputs`` arguments (``meta_keys``).

    Raises:
        ValueError: the stacked mask's channels differ from the layout
            (a transform dropped or added channels), naming the image.
    """

    def transform(self, results: dict) -> dict:
        layout = results.pop('seg_task_layout', None)
        if layout is None:
            return super().transform(results)
        stack = results['gt_seg_map']
        if stack.ndim == 2:
            stack = stack[..., None]
        want = sum(t['channels'] for t in layout)
        if stack.shape[2] != want:
            raise ValueError(
                f'{results.get("img_path")}: the stacked task masks have '
                f'{stack.shape[2]} channels, the tasks {want} (a transform '
                'between LoadTaskMasks and PackBlitzNetInputs changed them)')
        extra, c0 = {}, 0
        for task in layout:
            part = stack[..., c0:c0 + task['channels']]
            c0 += task['channels']
            if task['name'] == 'sem_seg':
                if not task['loaded']:
                    results.pop('gt_seg_map')
                elif not task['has_mask']:  # canvas pixels are no mask
                    results['gt_seg_map'] = np.full(part.shape[:2],
                                                    self.ignore_value(results),
                                                    np.uint8)
                else:
                    results['gt_seg_map'] = np.ascontiguousarray(part[..., 0])
            elif task['has_mask']:
                extra[task['name']] = part
        packed = super().transform(results)
        for name, part in extra.items():
            packed['data_samples'].set_field(
                PixelData(
                    sem_seg=to_tensor(
                        np.ascontiguousarray(part.transpose(2, 0, 1)))),
                f'gt_{name}')
        return packed

    @staticmethod
    def ignore_value(results: dict) -> int:
        return results.get('ignore_index', IGNORE_INDEX)
