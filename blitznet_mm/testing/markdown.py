"""Reading the repository's markdown (README.md, docs/*.md) in tests: the
relative links of a page and the rows of its tables."""
import re
from typing import Dict, List, Tuple

# [text](target) and ![alt](target); the target ends at whitespace or ')'
_LINK = re.compile(r'!?\[[^\]]*\]\(\s*([^)\s]+)[^)]*\)')
_CODE_SPAN = re.compile(r'`[^`]*`')


def _prose_lines(text: str) -> List[Tuple[int, str]]:
    """(line number, line) outside fenced code blocks, inline code spans
    blanked: links are read from prose only."""
    out, fenced = [], False
    for n, line in enumerate(text.split('\n'), 1):
        if line.lstrip().startswith(('```', '~~~')):
            fenced = not fenced
            continue
        if not fenced:
            out.append((n, _CODE_SPAN.sub('', line)))
    return out


def relative_links(text: str) -> List[Tuple[int, str]]:
    """The relative link targets of a markdown page.

    Args:
        text: the page.

    Returns:
        (line number, target path) per link to a file of the repository:
        URLs (``scheme:``), ``mailto:`` and same-page anchors (``#...``)
        are left out, and a ``#anchor`` after a path is dropped.
    """
    links = []
    for n, line in _prose_lines(text):
        for target in _LINK.findall(line):
            if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', target) or \
                    target.startswith('#'):
                continue
            links.append((n, target.split('#', 1)[0]))
    return links


def table_rows(text: str) -> List[Dict[str, str]]:
    """Every body row of every markdown table of a page, as {header cell:
    cell}, cells stripped (backticks kept).

    Args:
        text: the page.

    Returns:
        One dict per row, in page order; the separator row (``|---|``) and
        the header row are not rows.
    """
    rows, header, prev = [], None, None
    for line in text.split('\n'):
        line = line.strip()
        if not line.startswith('|'):
            header = prev = None
            continue
        cells = [c.strip() for c in line.strip('|').split('|')]
        if all(re.fullmatch(r':?-+:?', c) for c in cells):
            header = prev
        elif header is not None:
            rows.append(dict(zip(header, cells)))
        prev = cells
    return rows
