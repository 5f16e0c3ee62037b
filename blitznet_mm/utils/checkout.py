"""Which blitznet_mm a script of a checkout runs. The tools and demos import
blitznet_mm as an installed package, as mmdet's do (no ``sys.path``
edits); run from a checkout whose package has changed since the install,
they would run the older installed copy and ignore the checkout's edits
silently. ``import blitznet_mm`` says so with :func:`warn_if_other_copy`
(docs/install.md)."""
import filecmp
import os
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


def changed_file(package: str, installed: str) -> Optional[str]:
    """The first ``.py`` file of the package folder ``package`` that the
    copy in ``installed`` lacks: newer than that copy's ``__init__.py``
    (the install) and different or missing there. None when the copies
    agree; only newer files are read, so this costs a walk of stats."""
    installed_at = osp.getmtime(osp.join(installed, '__init__.py'))
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d not in ('__pycache__', '.mim'))
        for name in sorted(files):
            path = osp.join(folder, name)
            if not name.endswith('.py') or \
                    osp.getmtime(path) <= installed_at:
                continue
            other = osp.join(installed, osp.relpath(path, package))
            if not osp.isfile(other) or \
                    not filecmp.cmp(path, other, shallow=False):
                return path
    return None


def warn_if_other_copy(script: Optional[str] = None) -> Optional[str]:
    """Warns (``UserWarning``) when ``script`` lies in a checkout (a folder
    with ``setup.py`` and ``blitznet_mm/``) whose package differs from the
    imported copy.

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
    changed = changed_file(
        osp.join(root, 'blitznet_mm'), osp.join(IMPORTED_FROM, 'blitznet_mm'))
    if changed is None:
        return None
    msg = (f'{script} is in the checkout {root}, but blitznet_mm is '
           f'imported from {IMPORTED_FROM}, a copy older than the '
           f'checkout ({osp.relpath(changed, root)} differs): run `make '
           'install` (or `pip install .`) after editing the package, or '
           f"set PYTHONPATH={root} to run the checkout's code")
    warnings.warn(msg, stacklevel=2)
    return msg
