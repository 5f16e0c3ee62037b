"""``import blitznet_mm`` from a script of a checkout whose package differs
from the imported (installed) copy warns (the tools import the installed
package, as mmdet's do, and would otherwise ignore the checkout's edits
silently); an up-to-date install, ``mim``'s copies of the tools and the
copy under test do not."""
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from blitznet_mm.utils.checkout import (IMPORTED_FROM, package_root,
                                        warn_if_other_copy)


def _layout(root, checkout=True):
    """A folder holding a blitznet_mm package and a tool script; a checkout
    has setup.py beside them."""
    (root / 'blitznet_mm').mkdir(parents=True)
    (root / 'blitznet_mm' / '__init__.py').write_text('raise ImportError\n')
    if checkout:
        (root / 'setup.py').write_text('')
    (root / 'tools' / 'analysis').mkdir(parents=True)
    script = root / 'tools' / 'analysis' / 'tool.py'
    script.write_text('import blitznet_mm\nprint(blitznet_mm.__file__)\n')
    return script


def test_a_script_of_another_checkout_names_both_copies(tmp_path):
    script = _layout(tmp_path / 'checkout')
    with pytest.warns(UserWarning, match='make install'):
        msg = warn_if_other_copy(str(script))
    assert f'in the checkout {tmp_path / "checkout"},' in msg
    assert f'imported from {IMPORTED_FROM},' in msg
    assert f'PYTHONPATH={tmp_path / "checkout"} ' in msg
    assert f'({osp.join("blitznet_mm", "__init__.py")} differs)' in msg


def test_a_checkout_equal_to_the_install_says_nothing_until_edited(
        tmp_path, recwarn):
    """Files newer than the install but with the same bytes (a fresh clone
    of the installed commit) are not a difference; one edited file is."""
    root = tmp_path / 'checkout'
    script = _layout(root)
    shutil.rmtree(root / 'blitznet_mm')
    shutil.copytree(
        osp.join(IMPORTED_FROM, 'blitznet_mm'),
        root / 'blitznet_mm',
        copy_function=shutil.copy,  # new mtimes: every file is newer
        ignore=shutil.ignore_patterns('__pycache__', '.mim'))
    assert warn_if_other_copy(str(script)) is None
    assert not recwarn.list
    edited = root / 'blitznet_mm' / 'utils' / 'checkout.py'
    edited.write_text(edited.read_text() + '# edited\n')
    with pytest.warns(UserWarning):
        msg = warn_if_other_copy(str(script))
    assert f'({osp.join("blitznet_mm", "utils", "checkout.py")} differs)' \
        in msg


def test_installs_mim_tools_and_the_copy_under_test_say_nothing(
        tmp_path, recwarn):
    site = tmp_path / 'site'  # an install: blitznet_mm/, no setup.py
    _layout(site, checkout=False)
    mim_tool = site / 'blitznet_mm' / '.mim' / 'tools' / 'train.py'
    mim_tool.parent.mkdir(parents=True)
    mim_tool.write_text('')
    assert package_root(str(mim_tool)) == str(site)
    assert warn_if_other_copy(str(mim_tool)) is None
    assert warn_if_other_copy(
        osp.join(IMPORTED_FROM, 'blitznet_mm', '__init__.py')) is None
    outside = tmp_path / 'elsewhere' / 'script.py'
    outside.parent.mkdir()
    outside.write_text('')
    assert package_root(str(outside)) is None
    assert warn_if_other_copy(str(outside)) is None
    assert warn_if_other_copy('-c') is None  # python -c
    assert not [w for w in recwarn if 'blitznet_mm is' in str(w.message)]


def test_the_tool_of_another_checkout_warns_at_import(tmp_path):
    """A real interpreter: the script's own checkout is not on its path,
    so ``import blitznet_mm`` finds the copy on PYTHONPATH (conftest: the
    copy under test) and says which it runs."""
    script = _layout(tmp_path / 'checkout')
    res = subprocess.run([sys.executable, str(script)],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == osp.join(IMPORTED_FROM, 'blitznet_mm',
                                          '__init__.py')
    assert f'{script} is in the checkout {tmp_path / "checkout"}' in \
        res.stderr
