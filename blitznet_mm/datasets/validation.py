"""Checks of annotations shared by the datasets: a bad box or an unknown
class is skipped with a warning that names the file, and counted; a
malformed file is an error that names it."""
from collections import Counter
from typing import Optional, Sequence

from mmengine.logging import print_log

MAX_WARNINGS = 20


def box_problem(bbox: Sequence[float], img_w: float,
                img_h: float) -> Optional[str]:
    """The kind of problem of a box (x1, y1, x2, y2 in pixels), or None:
    ``'empty_box'`` (zero area, x2 <= x1 or y2 <= y1) or ``'outside_image'``
    (no part inside the ``img_w`` x ``img_h`` image)."""
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
            print_log(f'{self.owner}: skipped an annotation of {file}: '
                      f'{kind} ({detail})', logger='current', level=30)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> None:
        if self.total:
            print_log(f'{self.owner}: skipped {self.total} bad annotations '
                      f'({dict(self.counts)})', logger='current', level=30)
