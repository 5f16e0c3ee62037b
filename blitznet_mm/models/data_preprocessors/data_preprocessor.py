"""Batching for mixed annotations (paper Sec. 3.4: images with boxes, masks
or both in one batch)."""
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS
from mmengine.structures import PixelData


@MODELS.register_module()
class BlitzNetDataPreprocessor(DetDataPreprocessor):
    """mmdet's ``DetDataPreprocessor`` that accepts a batch in which only some
    images carry ``gt_sem_seg``: the others get an all-``seg_pad_value``
    (ignored) mask of their image's size first, on the masks' device, so a
    mask-less image is ignored by the segmentation loss, never background.

    mmdet 3.3 pads the masks only when the *first* sample has one and then
    reads every sample's, so such a batch fails there with an
    ``AttributeError`` (or goes unpadded when the first image has none).
    BlitzNet's own loaders always give a mask (all-255 when an image has
    none); this covers user pipelines and datasets concatenated with other
    pipelines.

    Args:
        **kwargs: as ``DetDataPreprocessor``; ``pad_seg`` and
            ``seg_pad_value`` (the ignore index, 255) are used here too.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        samples = data.get('data_samples')
        if self.pad_seg and samples:
            fill_missing_masks(data['inputs'], samples, self.seg_pad_value)
        return super().forward(data, training)


def fill_missing_masks(inputs, samples, value: int) -> int:
    """Gives each sample without ``gt_sem_seg`` an all-``value`` (1, H, W)
    mask of its input's size (``inputs[i]``: (3, H, W), before padding),
    when at least one sample has a mask. Returns the number filled."""
    masks = [ds.gt_sem_seg.sem_seg for ds in samples if 'gt_sem_seg' in ds]
    if not masks or len(masks) == len(samples):
        return 0
    filled = 0
    for img, ds in zip(inputs, samples):
        if 'gt_sem_seg' not in ds:
            ds.gt_sem_seg = PixelData(
                sem_seg=torch.full((1, *img.shape[-2:]),
                                   value,
                                   dtype=masks[0].dtype,
                                   device=masks[0].device))
            filled += 1
    return filled
