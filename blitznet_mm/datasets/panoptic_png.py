"""COCO panoptic PNGs as semantic maps, without panopticapi (its
``rgb2id`` is one line: id = R + 256 G + 256^2 B; COCO panoptic format,
Kirillov et al., CVPR 2019, cocodataset.org/#format-data)."""
from typing import Sequence

import numpy as np
from PIL import Image

from ..structures.seg_labels import IGNORE_INDEX
from .validation import image_file_problem

VOID_ID = 0  # COCO panoptic: pixels of no segment


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) int64 segment ids R + 256 G + 256^2 B."""
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    """(H, W) segment ids -> (H, W, 3) uint8 RGB (the inverse of
    :func:`rgb_to_id`, for writing panoptic PNGs)."""
    ids = np.asarray(ids, np.int64)
    return np.stack([ids % 256, ids // 256 % 256, ids // 65536 % 256],
                    -1).astype(np.uint8)


def panoptic_semantic_map(path: str,
                          segments: Sequence[dict],
                          height: int,
                          width: int,
                          ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """The semantic map of one panoptic PNG: every pixel of segment ``s``
    gets ``s['label']`` (its category's segmentation label), void pixels
    (id 0) get ``ignore_index``.

    Args:
        path (str): The RGB panoptic PNG.
        segments (list[dict]): ``id`` (segment id) and ``label`` of each
            segment of the image (its ``segments_info``).
        height, width (int): The image's size in pixels.
        ignore_index (int): Label of void pixels. Defaults to 255.

    Returns:
        np.ndarray: (H, W) uint8.

    Raises:
        FileNotFoundError: the PNG is missing.
        ValueError: naming the PNG, when it cannot be decoded, is not RGB,
            its size differs
            from the image's, or it holds a segment id that ``segments``
            does not list.
    """
    try:
        png = Image.open(path)
    except FileNotFoundError:
        raise FileNotFoundError(f'panoptic PNG {path} is missing') from None
    except OSError as e:  # empty, or not an image
        raise ValueError(f'panoptic PNG {path} cannot be decoded: '
                         f'{image_file_problem(path) or e}') from None
    if png.mode != 'RGB':
        raise ValueError(f'panoptic PNG {path} is {png.mode}, not RGB '
                         '(segment id = R + 256 G + 256^2 B)')
    try:
        rgb = np.asarray(png)
    except (OSError, SyntaxError) as e:  # truncated, or a broken chunk
        raise ValueError(f'panoptic PNG {path} cannot be decoded: '
                         f'{image_file_problem(path) or e}') from None
    ids = rgb_to_id(rgb)
    if ids.shape != (height, width):
        raise ValueError(f'panoptic PNG {path} is {ids.shape[1]}x'
                         f'{ids.shape[0]} but its image is {width}x{height}')
    label_of = {int(s['id']): int(s['label']) for s in segments}
    label_of[VOID_ID] = ignore_index
    uniq, inverse = np.unique(ids, return_inverse=True)
    unknown = [int(u) for u in uniq if int(u) not in label_of]
    if unknown:
        raise ValueError(f'panoptic PNG {path} holds segment ids '
                         f'{unknown[:8]} that its segments_info does not '
                         'list')
    lut = np.array([label_of[int(u)] for u in uniq], np.uint8)
    return lut[inverse.reshape(ids.shape)]
