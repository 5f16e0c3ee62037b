"""The measuring pieces of ``tools/analysis/benchmark.py`` (``make bench``),
also used by the GPU check (``tools/analysis/gpu_check.py``)."""
