"""A tool or demo run as its command line runs it, minus the interpreter's
start-up: forked from a process that has imported the stack already.

Each new interpreter spends ~7 CPU-s importing torch, mmengine's runner,
mmdet's and mmseg's models before a tool reads its first argument, and the
suite starts ~65 tools. :func:`run_script` forks them instead from the
standard library's fork server (``multiprocessing``'s ``forkserver``
start method, its modules preloaded): the child has the command line's
``sys.argv``, ``sys.path[0]``, working directory, environment, threads,
standard streams, exit status and multiprocessing start method, and runs
the script as ``__main__``.

What it cannot give is what a new interpreter does before ``__main__``:
``PYTHONPATH`` changes (``sitecustomize``), ``-X`` options, an import of
another copy of the package. The tests whose subject that is (the installed
package, a kill injected by ``sitecustomize``, another checkout, the GPU
check's stub of mmcv's ops (it must come before any import of mmcv.ops),
``torchrun``) start a new interpreter with :mod:`subprocess`.
"""
import multiprocessing
import os
import os.path as osp
import runpy
import subprocess
import sys
import tempfile
import types
from typing import Mapping, Optional, Sequence

#: what the tools import first; loaded once by the fork server
PRELOAD = ('torch', 'mmengine.runner', 'mmdet.apis', 'mmseg.models',
           'blitznet_mm', 'blitznet_mm.apis')

_context = None


def fork_server():
    """multiprocessing's ``forkserver`` context with :data:`PRELOAD` set:
    the one fork server of this process, so processes started later with
    ``start_method='forkserver'`` (``torch.multiprocessing.start_processes``
    too) are forked from it with the stack imported, where ``'spawn'``
    would start new interpreters."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context('forkserver')
        _context.set_forkserver_preload(list(PRELOAD))
    return _context


def _child(script, argv, cwd, env, out, err):
    """In the forked child: become ``python script *argv`` and run it."""
    for fd, path in ((1, out), (2, err)):
        f = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(f, fd)
        os.close(f)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    # torch's intra-op threads, as a new interpreter's torch sets them
    # (MKL_NUM_THREADS over OMP_NUM_THREADS): read when the server loaded it
    threads = env.get('MKL_NUM_THREADS') or env.get('OMP_NUM_THREADS')
    if threads:
        import torch
        torch.set_num_threads(int(threads))
    # the platform's default start method, as in a new interpreter: the
    # fork server's children inherit 'forkserver', under which a tool's
    # worker pool (mmdet's eval_map, DataLoader workers) would start
    # through another fork server (mmdet's analyze_results: 28 s, not 2)
    multiprocessing.set_start_method(None, force=True)
    # `python script` puts the script's folder first, and no '' (cwd)
    sys.path[:] = [osp.dirname(script)] + [p for p in sys.path if p]
    sys.argv = [script, *argv]
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit:
        raise  # the fork server's bootstrap maps it as Python does
    except BaseException as e:
        # the interpreter's traceback, from the script's frame on
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next
        e = e.with_traceback(tb or e.__traceback__)
        sys.excepthook(type(e), e, e.__traceback__)
        raise SystemExit(1)


def run_script(args: Sequence[str],
               cwd: Optional[str] = None,
               env: Optional[Mapping[str, str]] = None,
               timeout: float = 900) -> subprocess.CompletedProcess:
    """``subprocess.run([sys.executable, *args], capture_output=True,
    text=True, ...)`` for a Python script, forked from the preloaded fork
    server instead of a new interpreter.

    Args:
        args: the script's path, then its arguments.
        cwd: working directory (default: this process's).
        env: the whole environment (default: this process's).
        timeout: seconds before the child is killed.

    Returns:
        ``CompletedProcess`` with ``returncode`` (negative: the signal that
        ended it, as :mod:`subprocess` gives it), ``stdout``, ``stderr``.

    Raises:
        FileNotFoundError: ``args[0]`` is not a file.
        subprocess.TimeoutExpired: it ran past ``timeout`` (killed).
    """
    script = osp.abspath(str(args[0]))
    if not osp.isfile(script):
        raise FileNotFoundError(f'{script}: no such script')
    argv = [str(a) for a in args[1:]]
    env = dict(os.environ if env is None else env)
    cwd = osp.abspath(str(cwd or os.getcwd()))
    with tempfile.TemporaryDirectory() as tmp:
        out, err = osp.join(tmp, 'stdout'), osp.join(tmp, 'stderr')
        for path in (out, err):
            open(path, 'w').close()
        proc = fork_server().Process(
            target=_child, args=(script, argv, cwd, env, out, err))
        # the child runs the script as __main__: multiprocessing must not
        # import this process's main module into it (pytest's, or none)
        main = sys.modules['__main__']
        sys.modules['__main__'] = types.ModuleType('__main__')
        try:
            proc.start()
        finally:
            sys.modules['__main__'] = main
        proc.join(timeout)
        timed_out = proc.exitcode is None
        if timed_out:
            proc.kill()
            proc.join()
        with open(out, errors='replace') as f, \
                open(err, errors='replace') as g:
            stdout, stderr = f.read(), g.read()
    cmd = [sys.executable, script, *argv]
    if timed_out:
        raise subprocess.TimeoutExpired(cmd, timeout, stdout, stderr)
    return subprocess.CompletedProcess(cmd, proc.exitcode, stdout, stderr)
