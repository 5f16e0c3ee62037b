"""Masks-only custom data: a folder of images and a folder of class-index
PNGs, mmseg's layout (docs/custom_data.md, "Your own segmentation data";
docs/data.md)."""
import os.path as osp

from mmdet.registry import DATASETS
from mmseg.datasets import BaseSegDataset

from ..structures.seg_labels import SegLabelSet
from .validation import NamesBadImages


@DATASETS.register_module()
class BlitzNetSegDataset(NamesBadImages, BaseSegDataset):
    """mmseg's ``BaseSegDataset`` (``img_dir/x.jpg`` paired with
    ``ann_dir/x.png``, optionally listed by an ``ann_file`` of base names)
    read with BlitzNet's label rule: ``metainfo['classes']`` names the
    foreground classes only (as for detection), the PNGs hold 0 for
    background, ``c + 1`` for class ``c`` and 255 for unlabelled pixels,
    and the model has ``num_classes = len(classes)``. A set without
    background states ``seg_classes`` and ``seg_background=False`` instead
    (PNG value ``i`` is ``seg_classes[i]``; ``blitznet_mm.structures.
    seg_labels``). Images carry no boxes; train it with ``bbox_head=None``
    (segmentation only).

    Every mask is checked when loaded (``LoadBlitzNetAnnotations``): a
    value above the set's largest label other than 255 is an error naming
    the PNG, never a silently wrong class.

    Args:
        metainfo (dict): ``classes``: foreground class names, or
            ``seg_classes`` (and ``seg_background``, ``seg_palette``)
            (required).
        img_suffix (str): Image file suffix. Defaults to '.jpg'.
        seg_map_suffix (str): Mask file suffix. Defaults to '.png'.
        **kwargs: mmseg ``BaseSegDataset`` arguments (``data_root``,
            ``data_prefix=dict(img_path=..., seg_map_path=...)``,
            ``ann_file``, ``pipeline`` ...).

    Raises:
        ValueError: no ``classes`` / ``seg_classes``, or no image found.
        FileNotFoundError: the image folder, or an image's mask, is
            missing.
    """

    def __init__(self,
                 *args,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        meta = kwargs.get('metainfo') or {}
        if not (meta.get('classes') or meta.get('seg_classes')):
            raise ValueError(
                f'{type(self).__name__} needs metainfo=dict(classes=(...)): '
                'the foreground class names (background is label 0), or '
                'seg_classes=(...) with seg_background=False')
        if not meta.get('classes'):  # mmseg's BaseSegDataset reads classes
            kwargs['metainfo'] = dict(meta, classes=meta['seg_classes'])
        super().__init__(
            *args,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=False,
            **kwargs)

    def load_data_list(self) -> list:
        img_dir = self.data_prefix.get('img_path', '')
        if not (self.ann_file and osp.isfile(self.ann_file)) and \
                not osp.isdir(img_dir):
            raise FileNotFoundError(f'{img_dir}: image folder not found')
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(f'no *{self.img_suffix} image in {img_dir}')
        labels = SegLabelSet.from_metainfo(self._metainfo)
        for i, info in enumerate(data_list):
            seg = info.get('seg_map_path')
            if seg is None or not osp.isfile(seg):
                raise FileNotFoundError(
                    f"no mask for image {info['img_path']}: {seg} is missing")
            info.update(
                img_id=i,
                max_seg_label=labels.max_label,
                seg_background=labels.background)
        return data_list
