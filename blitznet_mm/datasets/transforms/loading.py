"""Loading of boxes and the semantic mask for mixed annotations
(paper Sec. 4.1; docs/data.md, "Mixed annotations")."""
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as maskUtils
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS

from ...structures.seg_labels import BACKGROUND, IGNORE_INDEX, det_to_seg_label
from ..panoptic_png import panoptic_semantic_map
from ..validation import image_file_problem


def instances_to_semantic(masks,
                          labels,
                          height: int,
                          width: int,
                          background: int = BACKGROUND) -> np.ndarray:
    """Union of instance masks per category as one class map.

    Args:
        masks (list[np.ndarray]): (H, W) binary masks.
        labels (list[int]): segmentation class of each mask (>= 1).
        height, width (int): map size in pixels.
        background (int): value of pixels covered by no instance.

    Returns:
        np.ndarray: (H, W) uint8. Larger instances are painted first, so a
        small object lying on a larger one of another class stays visible.
    """
    sem = np.full((height, width), background, dtype=np.uint8)
    order = np.argsort([-int(m.sum()) for m in masks], kind='stable')
    for i in order:
        sem[masks[i].astype(bool)] = labels[i]
    return sem


def instance_rle(mask_ann, height: int, width: int) -> dict:
    """The COCO RLE of one instance's ``segmentation`` (polygons, merged;
    uncompressed or compressed RLE), as mmdet's ``_poly2mask`` makes it
    before decoding.

    Raises:
        ValueError: a polygon under 3 points (pycocotools would read 4
            values as a box) or with a coordinate that is not finite.
    """
    if isinstance(mask_ann, list):
        for poly in mask_ann:
            if len(poly) < 6 or len(poly) % 2 or \
                    not np.isfinite(np.asarray(poly, np.float64)).all():
                raise ValueError(f'polygon {list(poly)[:8]} is under 3 '
                                 'points or not finite')
        return maskUtils.merge(maskUtils.frPyObjects(mask_ann, height, width))
    if isinstance(mask_ann['counts'], list):
        return maskUtils.frPyObjects(mask_ann, height, width)
    return mask_ann


def rles_to_semantic(rles,
                     labels,
                     height: int,
                     width: int,
                     background: int = BACKGROUND) -> np.ndarray:
    """:func:`instances_to_semantic` of the decoded ``rles``, equal pixel
    for pixel, in one pass over the image's instances.

    The areas that order the painting come from the RLEs (no decoding), all
    instances are decoded by one call, and each is painted only inside its
    bounding box, in the decoder's column-major layout (the map is
    transposed once at the end) so that mask and map are read in the same
    order.

    Args:
        rles (list[dict]): COCO RLEs of ``height`` x ``width``.
        labels (list[int]): segmentation class of each (>= 1).

    Returns:
        np.ndarray: (H, W) uint8, C-contiguous.
    """
    if not rles:
        return np.full((height, width), background, dtype=np.uint8)
    areas = maskUtils.area(rles).astype(np.int64)
    boxes = maskUtils.toBbox(rles).astype(np.int64)  # x, y, w, h: exact
    masks = maskUtils.decode(rles)  # (H, W, N) uint8, Fortran order
    sem_t = np.full((width, height), background, dtype=np.uint8)
    for i in np.argsort(-areas, kind='stable'):
        if areas[i] == 0:
            continue
        x, y, w, h = boxes[i]
        m = masks[:, :, i].T[x:x + w, y:y + h]
        np.copyto(
            sem_t[x:x + w, y:y + h], np.uint8(labels[i]), where=m.view(bool))
    return cv2.transpose(sem_t)


def check_labels(seg_map: np.ndarray, max_label, ignore_index: int,
                 path: str) -> None:
    """Raise ``ValueError`` naming ``path`` if ``seg_map`` holds a value
    above ``max_label`` (the largest label of the dataset's segmentation
    set, ``SegLabelSet.max_label``) other than ``ignore_index``;
    ``max_label=None`` checks nothing."""
    if max_label is None or seg_map.max() <= max_label:
        return
    values = np.unique(seg_map)
    bad = values[(values > max_label) & (values != ignore_index)]
    if bad.size:
        raise ValueError(
            f'mask {path} holds labels {bad[:8].tolist()} but the labels of '
            f"the dataset's segmentation classes are 0..{max_label} "
            f'({ignore_index} = ignored)')


def check_image_size(results: dict) -> None:
    """Raise ``ValueError`` naming the image (and its XML, for VOC) when its
    decoded size (``ori_shape``) differs from the ``height`` x ``width`` its
    annotation states: its boxes and polygons would be misplaced. Free: two
    integers compared, no decoding."""
    if 'height' not in results or 'ori_shape' not in results:
        return  # mmseg folders state no size
    h, w = results['ori_shape'][:2]
    if (results['height'], results['width']) != (h, w):
        where = results.get('xml_path') or 'its annotation'
        raise ValueError(
            f"image {results.get('img_path')} is {w}x{h} (w x h, EXIF "
            f"orientation applied) but {where} says {results['width']}x"
            f"{results['height']}: its boxes and masks would be misplaced")


@TRANSFORMS.register_module()
class LoadBlitzNetAnnotations(LoadAnnotations):
    """mmdet's ``LoadAnnotations`` for boxes, plus a semantic mask
    ``gt_seg_map`` (H, W) uint8 from whichever source the image has:

    1. ``seg_map_path``: a class-index PNG (VOC palette PNG, read with
       pillow so that the palette indices are kept; 255 = void);
    2. ``sem_seg_from_instances=True`` in the data info (COCO): the union
       of the instance polygons/RLEs per category, crowd included,
       background 0, class ``c`` -> ``c + 1``;
    3. ``panoptic_map_path`` with ``panoptic_segments`` (COCO panoptic):
       each segment's ``label``, void 255 (``panoptic_semantic_map``);
    4. none: all ``ignore_index`` (an image without a mask is ignored,
       never trained as background — the authors' issue #31).

    Args:
        with_bbox (bool): Load boxes. Defaults to True.
        with_label (bool): Load box labels. Defaults to True.
        with_seg (bool): Produce ``gt_seg_map``. Defaults to True.
        ignore_index (int): Value of ignored pixels. Defaults to 255.
        imdecode_backend (str): Mask decoder. Defaults to 'pillow'.
        **kwargs: passed to mmdet's ``LoadAnnotations``.

    A data info with ``max_seg_label`` (``BlitzNetSegDataset``) has its PNG
    checked by :func:`check_labels`.

    Raises:
        FileNotFoundError: a referenced mask file is missing.
        ValueError: naming the file, when a mask cannot be decoded, has
            more than one channel, its size differs from its image's, or
            it holds a label above ``max_seg_label``; when the image's size
            differs from its annotation's (:func:`check_image_size`); or
            when an instance polygon cannot be rasterised.
    """

    def __init__(self,
                 with_bbox: bool = True,
                 with_label: bool = True,
                 with_seg: bool = True,
                 ignore_index: int = IGNORE_INDEX,
                 imdecode_backend: str = 'pillow',
                 **kwargs) -> None:
        super().__init__(
            with_bbox=with_bbox,
            with_label=with_label,
            with_seg=with_seg,
            with_mask=False,
            imdecode_backend=imdecode_backend,
            **kwargs)
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        check_image_size(results)
        return super().transform(results)

    def _load_seg_map(self, results: dict) -> None:
        # the original image size: when loaded after Resize (test
        # pipelines) the mask stays at the original resolution for scoring
        h, w = results['ori_shape'][:2]
        path = results.get('seg_map_path')
        if path:
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'mask {path} of image {results.get("img_path")} is '
                    'missing')
            try:
                super()._load_seg_map(results)
            except (OSError, SyntaxError, ValueError) as e:
                # pillow's messages name a buffer, not the file
                raise ValueError(
                    f'mask {path} cannot be decoded: '
                    f'{image_file_problem(path) or "corrupt"} ({e})') from e
            if results['gt_seg_map'].ndim != 2:
                raise ValueError(
                    f'mask {path} has {results["gt_seg_map"].shape[-1]} '
                    'channels; expected a single-channel class-index PNG '
                    '(grayscale or palette)')
            mh, mw = results['gt_seg_map'].shape[:2]
            if (mh, mw) != (h, w):
                raise ValueError(f'mask {path} is {mw}x{mh} but its image '
                                 f'{results.get("img_path")} is {w}x{h}')
            check_labels(results['gt_seg_map'], results.get('max_seg_label'),
                         self.ignore_index, path)
            if results['gt_seg_map'].dtype != np.uint8:  # 16-bit PNG
                if results['gt_seg_map'].max() > 255:
                    raise ValueError(f'mask {path} holds values above 255')
                results['gt_seg_map'] = results['gt_seg_map'].astype(np.uint8)
        elif results.get('panoptic_map_path'):
            results['gt_seg_map'] = panoptic_semantic_map(
                results['panoptic_map_path'], results['panoptic_segments'], h,
                w, self.ignore_index)
        elif results.get('sem_seg_from_instances', False):
            # an instance without a `segmentation` is a box without mask
            # pixels (COCO-format sets converted from box-only sources)
            insts = [i for i in results.get('instances', []) if i.get('mask')]
            # RLEs, then one rasterisation of them all into the class map
            # (was: each instance decoded, summed and painted by itself)
            try:
                rles = [instance_rle(i['mask'], h, w) for i in insts]
            except (TypeError, ValueError) as e:  # pycocotools' own words
                raise ValueError(f"image {results.get('img_path')}: an "
                                 f'instance segmentation cannot be '
                                 f'rasterised ({e})') from e
            labels = [det_to_seg_label(i['bbox_label']) for i in insts]
            results['gt_seg_map'] = rles_to_semantic(rles, labels, h, w)
        else:
            results['gt_seg_map'] = np.full((h, w),
                                            self.ignore_index,
                                            dtype=np.uint8)
        results['ignore_index'] = self.ignore_index
