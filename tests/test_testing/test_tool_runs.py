"""``run_script`` gives what ``subprocess.run([sys.executable, script,
...], capture_output=True, text=True)`` gives, for every way a script can
end: the reference is a new interpreter running the same script."""
import os
import signal
import subprocess
import sys

import pytest

from blitznet_mm.testing.tool_runs import run_script

SCRIPT = '''
import multiprocessing, os, sys
import torch
print('argv', sys.argv[1:], 'cwd', os.getcwd(), 'env', os.environ.get('X'))
print('start method', multiprocessing.get_start_method())
print('threads', torch.get_num_threads(), 'path0', sys.path[0], __name__)
print('to stderr', file=sys.stderr)
how = sys.argv[1]
if how == 'message':
    sys.exit('a clear message')
if how == 'raise':
    raise ValueError('bad value')
if how == 'status':
    sys.exit(3)
if how == 'sigkill':
    os.kill(os.getpid(), {sigkill})
if how == 'sleep':
    import time
    time.sleep(60)
'''.format(sigkill=int(signal.SIGKILL))


@pytest.fixture(scope='module')
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp('tool') / 'tool.py'
    path.write_text(SCRIPT)
    return str(path)


@pytest.mark.parametrize('how',
                         ['ok', 'message', 'raise', 'status', 'sigkill'])
def test_same_as_a_new_interpreter(script, tmp_path, how):
    env = dict(os.environ, X='set', OMP_NUM_THREADS='2', MKL_NUM_THREADS='1')
    ref = subprocess.run([sys.executable, script, how],
                         cwd=tmp_path,
                         env=env,
                         capture_output=True,
                         text=True,
                         timeout=300)
    got = run_script([script, how], cwd=tmp_path, env=env, timeout=300)
    assert ref.returncode == {
        'ok': 0,
        'message': 1,
        'raise': 1,
        'status': 3,
        'sigkill': -signal.SIGKILL
    }[how]
    assert (got.returncode, got.stdout, got.stderr) == \
        (ref.returncode, ref.stdout, ref.stderr)
    assert f"argv ['{how}'] cwd {tmp_path} env set" in got.stdout
    assert f'threads 1 path0 {os.path.dirname(script)} __main__' in \
        got.stdout


def test_timeout_kills_it(script):
    with pytest.raises(subprocess.TimeoutExpired):
        run_script([script, 'sleep'], timeout=5)


def test_missing_script_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.py: no such script'):
        run_script([str(tmp_path / 'nothing.py')])
