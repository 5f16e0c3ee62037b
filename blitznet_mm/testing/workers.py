"""Session fixtures computed once per test run, also when pytest-xdist runs
the suite in several worker processes (``make test`` runs two).

xdist gives every worker its own session, so a session fixture would be
built once per worker; the expensive ones (a trained model, its export)
are instead built by the first worker that needs them, under a file lock
in the directory all workers' temporary folders share, and read back by
the others: the recipe of pytest-xdist's documentation ("Making
session-scoped fixtures execute only once").
"""
import os
import pickle
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock


def xdist_worker_count() -> int:
    """How many xdist workers run the suite (1 without xdist)."""
    return int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))


Produce = Callable[[Path], Any]


def once_per_run(tmp_path_factory, name: str, produce: Produce) -> Any:
    """``produce(folder)`` run once for the whole test run and its picklable
    result shared by every xdist worker.

    Args:
        tmp_path_factory: pytest's session ``tmp_path_factory``.
        name: the fixture's name (its folder's and files' names).
        produce: builds the value; may write files into the folder it is
            given, which every worker can read afterwards.

    Returns:
        ``produce``'s value (in a worker that did not build it: a copy
        unpickled from ``<name>/value.pkl``).
    """
    if os.environ.get('PYTEST_XDIST_WORKER') is None:
        return produce(tmp_path_factory.mktemp(name))
    # each worker's basetemp is <run>/popen-gw<N>; <run> is common
    root = tmp_path_factory.getbasetemp().parent
    folder, done = root / name, root / f'{name}.pkl'
    with FileLock(str(root / f'{name}.lock')):
        if done.is_file():
            with open(done, 'rb') as f:
                return pickle.load(f)
        folder.mkdir(exist_ok=True)
        value = produce(folder)
        with open(str(done) + '.part', 'wb') as f:
            pickle.dump(value, f)
        os.replace(str(done) + '.part', done)
        return value
