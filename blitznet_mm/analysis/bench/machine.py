"""The machine and its limits: device description, matrix-product peak,
peak memory."""
import os
import platform
import time

import torch


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def machine(device) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    info = dict(
        cpu=cpu,
        cores=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        python=platform.python_version(),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        device=str(device))
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


# square sizes of the matrix-product peak: an H100/H200 needs 8192 to reach
# its bf16 peak (at 2048-4096 launch and tail effects cost ~20%)
PEAK_SIZES = {'cuda': (4096, 8192), 'cpu': (1024, 2048, 3072)}


def time_runs(fn, runs: int, device) -> list:
    """Seconds per call of ``fn()`` over ``runs`` back-to-back calls. On
    CUDA: an event recorded between calls and one synchronisation at the
    end, so the host queues work ahead as in a real loop (a sync per call
    would add the launch latency to every call); elsewhere the wall clock."""
    if device.type != 'cuda':
        out = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        return out
    events = [torch.cuda.Event(enable_timing=True) for _ in range(runs + 1)]
    torch.cuda.synchronize(device)
    events[0].record()
    for i in range(runs):
        fn()
        events[i + 1].record()
    events[-1].synchronize()
    return [a.elapsed_time(b) / 1e3 for a, b in zip(events, events[1:])]


def matmul_peak(device,
                dtype,
                runs: int = 5,
                trials: int = 3,
                sizes=None) -> float:
    """Best GFLOP/s (2 n^3 per product) of square matrix products over
    sizes (``PEAK_SIZES`` by default) and trials (the best, not the mean:
    the floor must not be made easy by a slow moment of a shared machine).
    fp32 on CUDA follows ``torch.backends.cuda.matmul.allow_tf32``."""
    best = 0.
    sizes = sizes or PEAK_SIZES['cuda' if device.type == 'cuda' else 'cpu']
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(2):
            a @ b
        for _ in range(trials):
            secs = sum(time_runs(lambda: a @ b, runs, device))
            best = max(best, 2 * n**3 * runs / secs / 1e9)
    return best


def cuda_settings(config: str) -> dict:
    """What ``tools/train.py`` / ``tools/test.py`` run with on CUDA:
    PyTorch's TF32 defaults (cuDNN convolutions in TF32, matmuls in fp32)
    and ``torch.backends.cudnn.benchmark`` from the config's
    ``env_cfg.cudnn_benchmark`` (set here, as mmengine's runner does)."""
    from mmengine.config import Config
    bench = bool(
        Config.fromfile(config).get('env_cfg', {}).get('cudnn_benchmark',
                                                       False))
    torch.backends.cudnn.benchmark = bench
    return dict(
        cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
        matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
        cudnn_benchmark=bench,
        config=config)


class PeakMemory:
    """Peak resident memory (CPU: VmHWM, reset through clear_refs) or peak
    allocated CUDA memory, in MiB, over a ``with`` block."""

    def __init__(self, device):
        self.device = device

    @staticmethod
    def _status(key):
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        return float('nan')

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device) / 2**20
        else:
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')  # resets VmHWM to the current RSS
            except OSError:
                pass
            self.base = self._status('VmRSS')
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            self.peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            self.peak = self._status('VmHWM')
        self.increase = self.peak - self.base
