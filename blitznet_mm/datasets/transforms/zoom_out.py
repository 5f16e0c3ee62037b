"""Zoom-out of the authors' code (docs/training_recipe.md, "Zoom-out"):
mmdet's ``Expand`` with the mask border as a config key."""
from mmdet.datasets.transforms import Expand
from mmdet.registry import TRANSFORMS

from ...structures.seg_labels import BACKGROUND, IGNORE_INDEX


@TRANSFORMS.register_module()
class ZoomOut(Expand):
    """Place the image at a random offset on a canvas ``X`` times larger
    (``X ~ U(ratio_range)``, with probability ``prob``) filled with the mean
    colour; boxes and ``gt_seg_map`` move with it (mmdet's ``Expand``).

    The new border of the mask is ``seg_border``: ``'background'`` (0, the
    authors' code: the canvas holds no object) or ``'ignore'`` (255: the
    canvas is not a real scene). An image without a mask (all ignore)
    keeps an all-ignore mask either way, so a boxes-only image never gains
    background pixels.

    Args:
        mean (Sequence[float]): Canvas colour in the image's channel order.
        ratio_range (tuple[float]): Range of X. Defaults to (1.05, 4), as
            the authors' code.
        prob (float): Probability of zooming out. Defaults to 0.5.
        seg_border (str): ``'background'`` or ``'ignore'``. Defaults to
            ``'background'``.
        ignore_index (int): The ignore label. Defaults to 255.
        **kwargs: Other ``Expand`` arguments (``to_rgb`` ...).

    Raises:
        ValueError: for an unknown ``seg_border``.
    """

    def __init__(self, mean=(0, 0, 0), ratio_range=(1.05, 4), prob=0.5,
                 seg_border: str = 'background',
                 ignore_index: int = IGNORE_INDEX, **kwargs) -> None:
        if seg_border not in ('background', 'ignore'):
            raise ValueError("seg_border must be 'background' or 'ignore', "
                             f'got {seg_border!r}')
        self.seg_border = seg_border
        self.ignore_index = ignore_index
        self.border_label = (BACKGROUND if seg_border == 'background'
                             else ignore_index)
        kwargs.setdefault('to_rgb', False)
        super().__init__(mean=mean, ratio_range=ratio_range, prob=prob,
                         seg_ignore_label=self.border_label, **kwargs)

    def transform(self, results: dict) -> dict:
        seg = results.get('gt_seg_map')
        has_mask = seg is not None and (seg != self.ignore_index).any()
        self.seg_ignore_label = (self.border_label if has_mask
                                 else self.ignore_index)
        return super().transform(results)
