"""Modules of tools/analysis/benchmark.py (`make bench`)."""
