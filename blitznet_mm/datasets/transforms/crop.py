"""The authors' random crop: minimum object *coverage* instead of IoU
(BLITZNET_SPEC.md Sec. 6)."""
import math

from mmdet.datasets.transforms import MinIoURandomCrop
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import (HorizontalBoxes, autocast_box_type,
                                   bbox_overlaps)


class _CoverageBoxes(HorizontalBoxes):
    """Boxes whose ``overlaps(patch, gt)`` is the fraction of each ground
    truth box covered by the patch: intersection / gt area."""

    @staticmethod
    def overlaps(boxes1, boxes2, mode='iou', is_aligned=False, eps=1e-6):
        return bbox_overlaps(boxes2.tensor, boxes1.tensor, mode='iof',
                             is_aligned=is_aligned, eps=eps).t()


def _undecorated(fn, name: str):
    """The function wrapped by mmdet's ``autocast_box_type`` (which keeps no
    ``__wrapped__``)."""
    for cell in fn.__closure__ or ():
        inner = cell.cell_contents
        if callable(inner) and getattr(inner, '__name__', '') == name:
            return inner
    raise RuntimeError(f'cannot find the function wrapped by {fn!r}')


_iou_crop = _undecorated(MinIoURandomCrop.transform, 'transform')


@TRANSFORMS.register_module()
class MinCoverageRandomCrop(MinIoURandomCrop):
    """Random crop of the authors' code: a minimum object coverage is drawn
    from ``min_coverages`` (or no crop), a patch of area in [min_area, 1] and
    aspect h/w in [0.5, 2] is kept if every box is covered at least that
    much; boxes whose centre leaves the patch are dropped. Image, boxes and
    ``gt_seg_map`` are cropped together by mmdet's ``MinIoURandomCrop``,
    which this reuses with the coverage criterion.

    Args:
        min_coverages (Sequence[float]): Coverage thresholds. Defaults to
            (0.1, 0.3, 0.5, 0.7, 0.9) (0 and "no crop" are always added).
        min_area (float): Minimum patch area as a fraction of the image,
            0.3 in the original; each side is drawn in
            [sqrt(min_area), 1] of the image side.
        bbox_clip_border (bool): Clip boxes to the patch. Defaults to True.
    """

    def __init__(self, min_coverages=(0.1, 0.3, 0.5, 0.7, 0.9),
                 min_area: float = 0.3, bbox_clip_border: bool = True):
        super().__init__(min_ious=min_coverages,
                         min_crop_size=math.sqrt(min_area),
                         bbox_clip_border=bbox_clip_border)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        results['gt_bboxes'] = _CoverageBoxes(results['gt_bboxes'].tensor)
        # the undecorated body: the box-type autocast would undo the wrapper
        results = _iou_crop(self, results)
        results['gt_bboxes'] = HorizontalBoxes(results['gt_bboxes'].tensor)
        return results
