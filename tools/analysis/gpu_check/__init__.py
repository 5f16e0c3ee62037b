"""Helpers of tools/analysis/gpu_check.py (the GPU check): set-up on a
foreign machine (bootstrap, mmcv_ext_stub), guarded sections (guard), the
checks (unit, speed, ddp) and the report. Kept free of heavy imports:
spawned DDP workers import this package before mmcv's ops stand-in is in
place."""
