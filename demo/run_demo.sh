#!/usr/bin/env bash
# `make demo`: BlitzNet300 trained on the real coco_mini images on CPU for a
# bounded time, evaluated with tools/test.py (COCO bbox AP + mIoU), and drawn
# on a few images. DEMO_ITERS overrides the number of training iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CFG=configs/blitznet300_coco_mini.py
WORK=${WORK:-work_dirs/demo}
ITERS=${DEMO_ITERS:-}
# the real images shipped in data/samples, or a larger COCO-layout set
DATA_ROOT=${DATA_ROOT:-data/samples/}
ANN=$DATA_ROOT/annotations/instances_train2017.json
[ -f "$ANN" ] || {
  echo "$ANN is missing: DATA_ROOT must hold annotations/ and train2017/ (docs/data.md)" >&2
  exit 1; }

OPTS=(--cfg-options "train_dataloader.dataset.data_root=$DATA_ROOT"
      "test_dataloader.dataset.data_root=$DATA_ROOT"
      "test_evaluator.0.ann_file=$ANN")
if [ -n "$ITERS" ]; then
  OPTS+=(train_cfg.max_iters=$ITERS train_cfg.val_interval=$ITERS
        "param_scheduler.0.end=$ITERS" "param_scheduler.0.milestones=[$((ITERS * 8 / 10))]")
fi
echo ">> 1/3 training $CFG on CPU (work dir $WORK)"
$PY tools/train.py $CFG --work-dir "$WORK" "${OPTS[@]}"
CKPT=$(cat "$WORK/last_checkpoint")

mkdir -p "$WORK/test"
echo ">> 2/3 tools/test.py on $CKPT"
$PY tools/test.py $CFG "$CKPT" --work-dir "$WORK/test" "${OPTS[@]:0:4}" \
  --out "$WORK/test/results.pkl" --show-dir vis 2>&1 | tee "$WORK/test/test.log"

echo ">> 3/3 demo/image_demo.py on a few images"
mkdir -p "$WORK/inputs"
for f in $(ls "$DATA_ROOT/train2017" | head -4); do
  ln -sfn "$(cd "$DATA_ROOT/train2017" && pwd)/$f" "$WORK/inputs/$f"
done
$PY demo/image_demo.py "$WORK/inputs" $CFG --weights "$CKPT" \
  --out-dir "$WORK/drawn" --pred-score-thr 0.3

echo
echo "== demo done =="
echo "checkpoint:      $CKPT"
echo "metrics:         $(ls -d "$WORK"/test/2*/ | tail -1) (log and json); summary:"
grep -E "coco/bbox_mAP|sem_seg/mIoU" "$WORK/test/test.log" | tail -2 || true
echo "drawn test set:  $(ls -d "$WORK"/test/2*/vis 2>/dev/null | tail -1)"
echo "drawn images:    $WORK/drawn/ (results.json beside them)"
