#!/usr/bin/env bash
# Wheels for the GPU check (tools/analysis/gpu_check.py) on a machine with no
# network and its own Python 3.12 + torch (`make gpu-check-wheels`):
#   - the pure-python OpenMMLab packages and the small packages that machine
#     lacks, for CPython 3.12 manylinux x86_64, at the versions of .venv
#     (pip download --no-deps: the check installs exactly these, with
#     --no-deps, beside that machine's numpy / opencv / scipy / torch);
#   - mmcv 2.1.0, which has no py3.12 wheel: its sdist (for an optional
#     build of the CUDA ops there, --build-mmcv-ops) and a pure-python
#     wheel built here with MMCV_WITH_OPS=0 (mmcv-lite; the check then
#     stands in for mmcv._ext, see gpu_check/mmcv_ext_stub.py).
# Usage: PY=.venv/bin/python bash tools/analysis/gpu_check_wheels.sh [DIR]
# (DIR defaults to .whl/gpu_check, which git ignores; the device run carries
# it). Fails if the folder exceeds 60 MB (a device run carries 64 MiB in all).
set -euo pipefail
DIR=${1:-.whl/gpu_check}
PY=${PY:-.venv/bin/python}
MAX_MB=60
PYVER=${PYVER:-3.12}  # the GPU machine's Python (3.11 to try the set-up here)
mkdir -p "$DIR"
PIP="$PY -m pip --disable-pip-version-check"

# what the check imports that the GPU machine's image does not hold
# (/work/.library/device/KINDS.md lists it: numpy, opencv-python-headless,
# scipy, matplotlib, pillow, pyyaml, rich, regex, six, tqdm, torchvision,
# onnx, onnxruntime are there); setuptools<82 only for an mmcv build there
# (its setup.py imports pkg_resources)
NAMES="mmengine mmdet mmsegmentation pycocotools shapely terminaltables addict
yapf termcolor platformdirs ftfy wcwidth prettytable setuptools"

version() {  # the version installed in .venv, so both machines run the same
  $PIP show "$1" 2>/dev/null | sed -n 's/^Version: //p'
}

for name in $NAMES; do
  v=$(version "$name")
  spec=$name${v:+==$v}
  [ "$name" = setuptools ] && spec="setuptools<82"
  echo ">> $spec"
  $PIP download -q --no-deps --only-binary=:all: --python-version "$PYVER" \
    --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$DIR" "$spec"
done

MMCV=$(sed -n 's/^mmcv==//p' requirements/stack.txt)
if ! ls "$DIR"/mmcv-"$MMCV".tar.gz >/dev/null 2>&1; then
  # --no-build-isolation: the metadata step runs setup.py, which needs
  # setuptools<82 (pkg_resources) from .venv
  $PIP download -q --no-binary :all: --no-deps --no-build-isolation \
    -d "$DIR" "mmcv==$MMCV"
fi
if ! ls "$DIR"/mmcv_lite-"$MMCV"-*.whl >/dev/null 2>&1; then
  MMCV_WITH_OPS=0 $PIP wheel -q --no-deps --no-build-isolation -w "$DIR" \
    "$DIR/mmcv-$MMCV.tar.gz"
fi

ls -la "$DIR"
MB=$(du -sm "$DIR" | cut -f1)
echo ">> $DIR: $MB MB"
if [ "$MB" -gt "$MAX_MB" ]; then
  echo "ERROR: $DIR is $MB MB, over $MAX_MB MB" >&2
  exit 1
fi
