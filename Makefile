# One-command set-up: `make test` and `make demo` create/update .venv/ with the
# pinned OpenMMLab stack (requirements/stack.txt), build mmcv 2.1.0 with its
# compiled ops once per machine (wheel cached in $(CACHE_DIR)), install this
# package non-editably (so `mim train blitznet_mm` works) and run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
CACHE_DIR ?= $(HOME)/.cache/blitznet_mm
WHEELS := $(CACHE_DIR)/wheels
STACK := requirements/stack.txt
# versions come from $(STACK), the one place they are pinned
pin = $(shell sed -n 's/^\($(1)[=<>].*\)$$/\1/p' $(STACK))
MMCV_VERSION := $(shell sed -n 's/^mmcv==//p' $(STACK))
PROJECT_FILES := $(shell find blitznet_mm configs tools demo -type f \
	-not -path '*/.mim/*' -not -name '*.pyc' 2>/dev/null) setup.py README.md

.PHONY: env install test demo bench clean-venv
env: $(VENV)/.stack-stamp
install: $(VENV)/.project-stamp

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# the stack; mmcv first (from the cached wheel, or built without isolation
# so that it sees torch and compiles its ops)
$(VENV)/.stack-stamp: $(STACK) | $(VENV)/bin/python
	$(PIP) install -q "$(call pin,setuptools)" wheel ninja "$(call pin,torch)"
	@if ! ls $(WHEELS)/mmcv-$(MMCV_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo ">> building mmcv $(MMCV_VERSION) with its ops (~20 min on 2 cores, once per machine)"; \
	  mkdir -p $(WHEELS) && \
	  MAX_JOBS=$$(nproc) $(PIP) wheel --no-build-isolation --no-deps \
	    -w $(WHEELS) mmcv==$(MMCV_VERSION); \
	fi
	$(PIP) install -q --no-deps $(WHEELS)/mmcv-$(MMCV_VERSION)-*.whl
	$(PIP) install -q -r $(STACK)
	$(PIP) install -q --no-deps openmim==0.3.9
	$(PY) -c "import mmcv.ops; from mmcv.ops import batched_nms"
	touch $@

$(VENV)/.project-stamp: $(VENV)/.stack-stamp $(PROJECT_FILES)
	$(PIP) install -q --no-deps --no-build-isolation --force-reinstall .
	rm -rf build blitznet_mm.egg-info
	touch $@

test: install
	$(PY) -m pytest -q --durations=10

# the embedded real images in data/samples are the default data of both;
# DATA_ROOT=/path/to/coco_layout_set/ uses a larger set for the demo
demo: install
	bash demo/run_demo.sh

# writes docs/benchmark.md + .json (~45 min on 2 CPU cores with the five
# BlitzNet300 variants); e.g.
# BENCH_ARGS="--checkpoint work_dirs/learning_check/iter_150.pth"
bench: install
	$(PY) tools/analysis/benchmark.py $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)
