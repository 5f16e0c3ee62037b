# One-command set-up: `make test` and `make demo` create/update .venv/ with the
# pinned OpenMMLab stack (requirements/stack.txt), build mmcv 2.1.0 with its
# compiled ops once per torch build (wheel cached in $(CACHE_DIR)), install this
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
# the mmcv wheel cache has one folder per torch build and ops target, e.g.
# wheels/torch-2.13.0+cpu-cpu/ or wheels/torch-2.13.0+cu128-cu12.8/: mmcv
# compiles CUDA ops only where torch sees a GPU (or FORCE_CUDA=1), so a wheel
# built on a CPU box must not be picked up on a GPU box (it would train, then
# fail at the first validation's NMS)
MMCV_KEY = $(PY) -c "import os, torch; c = torch.version.cuda if (torch.cuda.is_available() or os.getenv('FORCE_CUDA') == '1') else None; print(f'torch-{torch.__version__}-' + (f'cu{c}' if c else 'cpu'))"
PROJECT_FILES := $(shell find blitznet_mm configs tools demo -type f \
	-not -path '*/.mim/*' -not -name '*.pyc' 2>/dev/null) setup.py README.md \
	model-index.yml requirements/mminstall.txt

.PHONY: env install test test-fast demo bench clean-venv
env: $(VENV)/.stack-stamp
install: $(VENV)/.project-stamp

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# the stack; mmcv first (from the cached wheel, or built without isolation
# so that it sees torch and compiles its ops)
$(VENV)/.stack-stamp: $(STACK) | $(VENV)/bin/python
	$(PIP) install -q "$(call pin,setuptools)" wheel ninja "$(call pin,torch)"
	@key=$$($(MMCV_KEY)) && dir="$(WHEELS)/$$key" && mkdir -p "$$dir" && \
	legacy=$$(ls $(WHEELS)/mmcv-$(MMCV_VERSION)-*.whl 2>/dev/null | head -1); \
	if ! ls "$$dir"/mmcv-$(MMCV_VERSION)-*.whl >/dev/null 2>&1; then \
	  if [ -n "$$legacy" ] && $(PY) -c "import sys, torch; sys.exit(torch.version.cuda is not None)"; then \
	    echo ">> reusing $$legacy (cached before the per-build folders; CPU torch, so CPU ops) in $$dir"; \
	    cp "$$legacy" "$$dir"/; \
	  else \
	    echo ">> building mmcv $(MMCV_VERSION) with its ops for $$key (~20 min on 2 cores, once per torch build)"; \
	    MAX_JOBS=$$(nproc) $(PIP) wheel --no-build-isolation --no-deps \
	      -w "$$dir" mmcv==$(MMCV_VERSION) || exit 1; \
	  fi; \
	fi; \
	echo ">> mmcv wheel from $$dir"; \
	$(PIP) install -q --no-deps "$$dir"/mmcv-$(MMCV_VERSION)-*.whl
	$(PIP) install -q -r $(STACK)
	$(PIP) install -q --no-deps openmim==0.3.9
	@# NMS on two boxes on CUDA when torch sees a GPU, else on the CPU: a
	@# wheel without CUDA ops fails here with the cause, not at validation
	@$(PY) tools/analysis/gpu_check/mmcv_ops.py || { echo "ERROR: delete \
	  $(WHEELS)/$$($(MMCV_KEY))/ and run make env again" >&2; exit 1; }
	touch $@

$(VENV)/.project-stamp: $(VENV)/.stack-stamp $(PROJECT_FILES)
	$(PIP) install -q --no-deps --no-build-isolation --force-reinstall .
	rm -rf build blitznet_mm.egg-info
	touch $@

# lint first (seconds; a finding stops the run), then the suite in
# $(TEST_WORKERS) processes (pytest-xdist; the trained-model fixtures are
# built once for all of them: blitznet_mm/testing/workers.py)
TEST_WORKERS ?= 2
test: install lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --durations=15

# the edit-test loop: the tests not marked slow (no training beyond a few
# steps, no tool runs)
test-fast: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) -m 'not slow and not cuda' \
	  --durations=15

# the embedded real images in data/samples are the default data of both;
# DATA_ROOT=/path/to/coco_layout_set/ uses a larger set for the demo
demo: install
	bash demo/run_demo.sh

# writes docs/benchmark.md + .json (~45 min on 2 CPU cores with the five
# BlitzNet300 variants); e.g.
# BENCH_ARGS="--checkpoint work_dirs/learning_check/iter_150.pth"
bench: install
	$(PY) tools/analysis/benchmark.py $(BENCH_ARGS)

# the GPU check (docs/benchmark.md, "GPU"; <= 8 min on one CUDA GPU): writes
# work_dirs/gpu_check/report.md + .json. It runs on the GPU machine's own
# python and torch (GPU_PY, not .venv), installing the OpenMMLab packages
# from the wheels `make gpu-check-wheels` prepares here (that machine has no
# network). Dry run here: make gpu-check GPU_PY=.venv/bin/python
# GPU_CHECK_ARGS="--device cpu --dry-run"
.PHONY: gpu-check gpu-check-wheels
GPU_PY ?= python3
GPU_CHECK_WHEELS ?= .whl/gpu_check
gpu-check:
	$(GPU_PY) tools/analysis/gpu_check.py --wheels $(GPU_CHECK_WHEELS) $(GPU_CHECK_ARGS)

gpu-check-wheels: env
	PY=$(PY) bash tools/analysis/gpu_check_wheels.sh $(GPU_CHECK_WHEELS)

clean-venv:
	rm -rf $(VENV)

# `make test-compat`: the suite on the oldest stack the code supports, torch 2.1
# + numpy 1.26 (requirements/stack-compat.txt), in .venv-compat/. mmcv 2.1.0 is
# compiled against that torch once per machine (~20 min on 2 cores), cached in
# its own folder keyed like the main one (wheels/torch-2.1.2+cu121-cpu/: PyPI's
# torch 2.1.2 is the CUDA build; without a GPU mmcv compiles CPU ops only).
# pip's own wheel cache is bypassed for that build: it would hand back the mmcv
# built against another torch. COMPAT_PYTEST_ARGS picks tests (default: all).
COMPAT_VENV := .venv-compat
COMPAT_PY := $(COMPAT_VENV)/bin/python
COMPAT_PIP := $(COMPAT_PY) -m pip --disable-pip-version-check
COMPAT_STACK := requirements/stack-compat.txt
COMPAT_PYTEST_ARGS ?=
compat_pin = $(shell sed -n 's/^\($(1)[=<>].*\)$$/\1/p' $(COMPAT_STACK))
COMPAT_MMCV_KEY = $(COMPAT_PY) -c "import os, torch; c = torch.version.cuda if (torch.cuda.is_available() or os.getenv('FORCE_CUDA') == '1') else None; print(f'torch-{torch.__version__}-' + (f'cu{c}' if c else 'cpu'))"

.PHONY: test-compat clean-venv-compat
$(COMPAT_PY):
	$(PYTHON) -m venv $(COMPAT_VENV)

$(COMPAT_VENV)/.stack-stamp: $(COMPAT_STACK) | $(COMPAT_PY)
	$(COMPAT_PIP) install -q "$(call compat_pin,setuptools)" wheel ninja \
	  "$(call compat_pin,torch)" "$(call compat_pin,numpy)"
	@key=$$($(COMPAT_MMCV_KEY)) && dir="$(WHEELS)/$$key" && mkdir -p "$$dir" && \
	if ! ls "$$dir"/mmcv-$(MMCV_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo ">> building mmcv $(MMCV_VERSION) with its ops for $$key (~20 min on 2 cores, once per machine)"; \
	  MAX_JOBS=$$(nproc) $(COMPAT_PIP) wheel --no-cache-dir --no-build-isolation \
	    --no-deps -w "$$dir" mmcv==$(MMCV_VERSION) || exit 1; \
	fi; \
	echo ">> mmcv wheel from $$dir"; \
	$(COMPAT_PIP) install -q --no-deps "$$dir"/mmcv-$(MMCV_VERSION)-*.whl
	$(COMPAT_PIP) install -q -r $(COMPAT_STACK)
	$(COMPAT_PIP) install -q --no-deps openmim==0.3.9
	$(COMPAT_PY) tools/analysis/gpu_check/mmcv_ops.py
	touch $@

$(COMPAT_VENV)/.project-stamp: $(COMPAT_VENV)/.stack-stamp $(PROJECT_FILES)
	$(COMPAT_PIP) install -q --no-deps --no-build-isolation --force-reinstall .
	rm -rf build blitznet_mm.egg-info
	touch $@

test-compat: $(COMPAT_VENV)/.project-stamp
	$(COMPAT_PY) -m pytest -q -n $(TEST_WORKERS) --durations=15 $(COMPAT_PYTEST_ARGS)

clean-venv-compat:
	rm -rf $(COMPAT_VENV)

# `make lint`: flake8, isort and yapf with OpenMMLab's settings (setup.cfg),
# checking only: no file is changed (`pre-commit install` applies them on
# commit, .pre-commit-config.yaml). The tools are pinned in
# requirements/lint.txt. All three run; it fails if any of them found
# something. `make test` runs it first.
LINT_PATHS ?= blitznet_mm configs demo tests tools setup.py
.PHONY: lint
$(VENV)/.lint-stamp: requirements/lint.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements/lint.txt
	touch $@

lint: $(VENV)/.lint-stamp
	@status=0; \
	$(PY) -m flake8 $(LINT_PATHS) || status=1; \
	$(PY) -m isort --check-only --diff $(LINT_PATHS) || status=1; \
	$(PY) -m yapf --diff --recursive --exclude 'blitznet_mm/.mim/*' \
	  $(LINT_PATHS) || status=1; \
	exit $$status
