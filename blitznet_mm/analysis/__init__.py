"""What the analysis tools under ``tools/`` share with each other and with
the tests, so that every tool is a script importing only installed
packages: the benchmark's measuring pieces (``bench``), a config's size
(``complexity``), the learning checks' short runs (``short_run``) and
mmdet's analysis tools loaded as modules (``mmdet_tools``).

Not imported by ``import blitznet_mm``: each tool imports what it uses.
"""
