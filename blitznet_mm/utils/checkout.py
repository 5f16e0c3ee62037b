"""Which blitznet_mm a script of a checkout runs. The tools and demos import
blitznet_mm as an installed package, as mmdet's do (no ``sys.path``
edits); run from a checkout while another copy is installed, they run that
copy and the checkout's own edits are silently ignored. ``import
blitznet_mm`` says so with :func:`warn_if_other_copy` (docs/install.md)."""
import os.path as osp
import sys
import warnings
from typing import Optional

#: the folder that holds the imported blitznet_mm package
IMPORTED_FROM = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def package_root(path: str) -> Optional[str]:
    """The nearest folder above ``path`` that holds a ``blitznet_mm``
    package (a checkout, or the site-packages of an install), or None."""
    folder = osp.dirname(osp.abspath(path))
    while True:
        if osp.isfile(osp.join(folder, 'blitznet_mm', '__init__.py')):
            return folder
        parent = osp.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def warn_if_other_copy(script: Optional[str] = None) -> Optional[str]:
    """Warns (``UserWarning``) when ``script`` lies in a checkout (a folder
    with ``setup.py`` and ``blitznet_mm/``) whose blitznet_mm is not the
    imported one.

    Args:
        script (str, optional): Defaults to the running script,
            ``sys.argv[0]`` (nothing is checked for ``python -c`` or an
            interactive session).

    Returns:
        str or None: the warning's text, None when there is nothing to say.
    """
    if script is None:
        script = (getattr(sys, 'argv', None) or [''])[0]
    if not script or not osp.isfile(script):
        return None
    root = package_root(script)
    if root is None or not osp.isfile(osp.join(root, 'setup.py')) or \
            osp.realpath(root) == osp.realpath(IMPORTED_FROM):
        return None
    msg = (f'{script} is in the checkout {root}, but blitznet_mm is '
           f'imported from {IMPORTED_FROM}, an installed copy that may be '
           'older than the checkout: run `make install` (or `pip install .`) '
           f'after editing the package, or set PYTHONPATH={root} to run the '
           "checkout's code")
    warnings.warn(msg, stacklevel=2)
    return msg
