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
    info = dict(cpu=cpu, cores=os.cpu_count(),
                torch_threads=torch.get_num_threads(),
                torch=torch.__version__, python=platform.python_version(),
                cpu_capability=torch.backends.cpu.get_cpu_capability(),
                device=str(device))
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


def matmul_peak(device, dtype, runs: int = 5, trials: int = 3) -> float:
    """Best GFLOP/s (2 n^3 per product) of square matrix products over
    sizes and trials (the best, not the mean: the floor must not be made
    easy by a slow moment of a shared machine)."""
    best = 0.
    sizes = (2048, 4096) if device.type == 'cuda' else (1024, 2048, 3072)
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(2):
            a @ b
        for _ in range(trials):
            sync(device)
            t = time.perf_counter()
            for _ in range(runs):
                a @ b
            sync(device)
            best = max(best,
                       2 * n**3 * runs / (time.perf_counter() - t) / 1e9)
    return best


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
