"""Sections of the GPU check, each guarded: a failure or an overrun is
recorded and the next section still runs; the report is rewritten after
every section, so a run cut short still leaves what it measured."""
import json
import os
import os.path as osp
import signal
import time
import traceback
from contextlib import contextmanager


class SectionTimeout(BaseException):
    """A section ran past its hard limit (budget + grace). Not an
    Exception: the sections' per-row ``except Exception`` must let it
    through."""


@contextmanager
def hard_limit(seconds: float):
    """Raise ``SectionTimeout`` in the main thread after ``seconds``
    (SIGALRM; a long CUDA call returns first). The sections also watch
    their deadline themselves and stop early; this is the backstop."""
    if seconds <= 0 or not hasattr(signal, 'setitimer'):
        yield
        return

    def fire(signum, frame):
        raise SectionTimeout(f'hard limit of {seconds:.0f} s')

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Deadline:
    """A section's time budget (seconds); ``left()`` for the measuring
    loops, which skip what would not fit and say so. A section may put its
    result dict in ``partial`` as it fills it: a section stopped by the
    hard limit then still reports its finished rows."""

    def __init__(self, budget: float):
        self.budget, self.t0 = budget, time.monotonic()
        self.partial = None

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.t0)

    def over(self, need: float = 0.) -> bool:
        return self.left() < need


class Check:
    """The run: its sections' results and the report files.

    Args:
        out_dir (str): where ``report.json`` and ``report.md`` go.
        render (callable): result dict -> markdown text.
        log (callable): progress lines.
    """

    def __init__(self, out_dir, render, log):
        self.out_dir, self.render, self.log = out_dir, render, log
        self.t0 = time.monotonic()
        self.res = dict(
            sections={},
            started=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))
        os.makedirs(out_dir, exist_ok=True)

    def run(self, name, budget, fn, *args, grace=30., **kwargs):
        """``fn(*args, deadline=Deadline(budget), **kwargs)`` -> a dict
        stored under ``name`` with ``status`` ('ok', 'failed' or
        'timeout'), ``seconds`` and the error's last traceback lines."""
        self.log(f'== {name} (budget {budget:.0f} s)')
        t, cpu = time.monotonic(), time.process_time()
        entry = dict(budget_s=budget)
        deadline = Deadline(budget)
        try:
            with hard_limit(budget + grace):
                entry['result'] = fn(*args, deadline=deadline, **kwargs)
            entry['status'] = 'ok'
        except SectionTimeout as e:
            entry.update(status='timeout', error=str(e))
            if deadline.partial is not None:
                entry['result'] = deadline.partial
        except Exception as e:  # recorded; the next section still runs
            entry.update(
                status='failed',
                error=f'{type(e).__name__}: {e}'[:2000],
                traceback=traceback.format_exc()[-3000:])
        entry['seconds'] = time.monotonic() - t
        # this process's CPU seconds (not spawned workers'): on a shared
        # machine the wall time says more about the neighbours
        entry['cpu_s'] = time.process_time() - cpu
        self.res['sections'][name] = entry
        self.log(f'   {name}: {entry["status"]} in {entry["seconds"]:.1f} s' +
                 (f' ({entry["error"][:300]})' if 'error' in entry else ''))
        self.write()
        return entry

    def write(self):
        self.res['wall_s'] = time.monotonic() - self.t0
        with open(osp.join(self.out_dir, 'report.json'), 'w') as f:
            json.dump(self.res, f, indent=1, default=str)
        with open(osp.join(self.out_dir, 'report.md'), 'w') as f:
            f.write(self.render(self.res))
