"""A script of the checkout's ``tools/`` or ``demo/`` loaded by its path, to
test one of its functions in-process (a command-line parser, or a helper of
the GPU check, whose package must import before mmcv and so cannot live in
blitznet_mm). Nothing is put on ``sys.path``: the generic names of tool
folders (``bench``, ``misc``) cannot shadow anything for later tests."""
import importlib.util
import os.path as osp
import sys
from unittest import mock

from .builders import REPO


def load_script(relpath: str):
    """The module of ``REPO/relpath`` (e.g. ``'tools/test.py'``), executed
    now under the name ``script_<path with _>``, not registered in
    ``sys.modules``.

    Raises:
        FileNotFoundError: no such file in the checkout.
    """
    path = osp.join(REPO, relpath)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such script')
    name = 'script_' + osp.splitext(relpath)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exit_message(relpath: str, *argv) -> str:
    """Run ``main()`` of the script ``REPO/relpath`` in this process with
    the command line ``argv`` and return the message it stops with: its
    ``sys.exit(message)``, which its command line prints to stderr with
    exit status 1. For the error paths, which stop before any model is
    built (a new process would spend its seconds importing the stack).

    Raises:
        AssertionError: the script returned, or exited with status 0.
    """
    module = load_script(relpath)
    try:
        with mock.patch.object(sys, 'argv',
                               [osp.join(REPO, relpath), *map(str, argv)]):
            module.main()
    except SystemExit as e:
        if e.code in (None, 0):
            raise AssertionError(f'{relpath} exited with status 0')
        return str(e.code)
    raise AssertionError(f'{relpath} returned without an error')
