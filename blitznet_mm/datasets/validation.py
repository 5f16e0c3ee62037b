"""Checks of annotations shared by the datasets: a bad box or an unknown
class is skipped with a warning that names the file, and counted; a
malformed file is an error that names it; a sample whose image cannot be
read is an error that names the image and says what is wrong with it."""
import math
import numbers
import os.path as osp
from collections import Counter
from typing import Optional, Sequence

from mmengine.logging import print_log

MAX_WARNINGS = 20


def number_problem(values) -> Optional[str]:
    """The kind of problem of a box's four raw values (as read from a json),
    or None: ``'malformed_box'`` (not a list of 4), ``'not_a_number'`` (a
    string, None or bool among them) or ``'not_finite'`` (NaN or inf)."""
    if not isinstance(values, (list, tuple)) or len(values) != 4:
        return 'malformed_box'
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            return 'not_a_number'
        if not math.isfinite(v):
            return 'not_finite'
    return None


def box_problem(bbox: Sequence[float], img_w: float,
                img_h: float) -> Optional[str]:
    """The kind of problem of a box (x1, y1, x2, y2 in pixels), or None:
    :func:`number_problem`'s kinds, ``'empty_box'`` (zero area, x2 <= x1
    or y2 <= y1) or ``'outside_image'`` (no part inside the ``img_w`` x
    ``img_h`` image). A box partly outside is kept (``Resize`` clips it)."""
    kind = number_problem(bbox)
    if kind:
        return kind
    x1, y1, x2, y2 = bbox
    if x2 <= x1 or y2 <= y1:
        return 'empty_box'
    if x2 <= 0 or y2 <= 0 or x1 >= img_w or y1 >= img_h:
        return 'outside_image'
    return None


class SkipLog:
    """Counts skipped annotations and warns (the first ``MAX_WARNINGS``)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.counts = Counter()

    def skip(self, file: str, kind: str, detail: str) -> None:
        """Count one skipped annotation of ``kind`` in ``file``."""
        self.counts[kind] += 1
        if self.total <= MAX_WARNINGS:
            print_log(
                f'{self.owner}: skipped an annotation of {file}: '
                f'{kind} ({detail})',
                logger='current',
                level=30)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> None:
        if self.total:
            print_log(
                f'{self.owner}: skipped {self.total} bad annotations '
                f'({dict(self.counts)})',
                logger='current',
                level=30)


# the first bytes of the formats OpenCV decodes that image sets use
_MAGIC = {
    b'\xff\xd8': 'JPEG',
    b'\x89PNG': 'PNG',
    b'GIF8': 'GIF',
    b'BM': 'BMP',
    b'II*\x00': 'TIFF',
    b'MM\x00*': 'TIFF',
    b'RIFF': 'WebP'
}


def image_file_problem(path: str) -> Optional[str]:
    """What is wrong with an image file, from its size and its first and
    last bytes only (no decoding), or None when its header looks sound:
    missing, empty, not an image format, or a JPEG / PNG cut short (no
    end-of-image marker / IEND chunk). Called only after decoding failed, so
    a valid file with bytes after its end marker never trips it."""
    if not osp.isfile(path):
        return 'no such file'
    size = osp.getsize(path)
    if size == 0:
        return 'empty file (0 bytes)'
    with open(path, 'rb') as f:
        head = f.read(8)
        f.seek(max(0, size - 8))
        tail = f.read(8)
    kind = next((k for m, k in _MAGIC.items() if head.startswith(m)), None)
    if kind is None:
        return f'not an image file (it starts with {head!r})'
    if kind == 'JPEG' and not tail.endswith(b'\xff\xd9'):
        return f'truncated JPEG ({size} bytes, no end-of-image marker)'
    if kind == 'PNG' and not tail.endswith(b'IEND\xaeB`\x82'):
        return f'truncated PNG ({size} bytes, no IEND chunk)'
    return None


class NamesBadImages:
    """Dataset mixin (before the mmengine dataset class in the bases): a
    sample whose pipeline fails on its image raises an error naming the
    image and the problem (:func:`image_file_problem`) instead of OpenCV's
    or mmcv's message (``!buf.empty()``, ``failed to load image``). Costs
    nothing on a good sample: the file is looked at only after a failure.

    Raises:
        FileNotFoundError: the sample's image does not exist.
        ValueError: it is empty, not an image, truncated or corrupt.
    """

    def prepare_data(self, idx):
        try:
            return super().prepare_data(idx)
        except Exception as e:
            path = self.get_data_info(idx).get('img_path')
            if not path or not _from_image_decoding(e, path):
                raise  # another step's error: it names its own file
            problem = image_file_problem(path)
            if problem is None and isinstance(e, AssertionError):
                problem = 'cannot be decoded (corrupt, or not an image)'
            if problem is None:
                raise
            err = FileNotFoundError if problem == 'no such file' \
                else ValueError
            raise err(f'image {path}: {problem} ({type(e).__name__}: '
                      f'{str(e).strip()[:200]})') from e


def _from_image_decoding(e: Exception, path: str) -> bool:
    """Whether ``e`` is how mmcv / OpenCV fail on the image ``path``:
    mmcv's ``failed to load image`` assertion, the file's FileNotFoundError,
    or an OpenCV error (an empty buffer)."""
    if isinstance(e, AssertionError):
        return path in str(e)
    if isinstance(e, FileNotFoundError):
        return e.filename == path
    return type(e).__module__ == 'cv2'
