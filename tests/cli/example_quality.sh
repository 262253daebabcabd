#!/usr/bin/env bash
# Converts a shipped example model and checks the int8 model against the float weights on the
# example's held-out rows with `mmoe eval`, per task, against the targets of
# docs/quality.md: |AUC(int8) - AUC(float)| <= 0.001, Spearman >= 0.9995, and mean |dp| at
# most MEAN_LIMIT (0.0025 for 0/1 and one-hot inputs, 0.0035 for Gaussian ones).
#   example_quality.sh MMOE_BINARY EXAMPLE_DIR MODEL_STEM CALIBRATION MEAN_LIMIT
set -euo pipefail
mmoe=$1
dir=$2
stem=$3
method=$4
mean_limit=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
label="$(basename "$dir") $method"

"$mmoe" convert --weights "$dir/$stem.safetensors" --arch "$dir/$stem.arch.json" --calib "$dir/calib.npy" \
  --calibration "$method" -o "$work/m.mmoe" > /dev/null
"$mmoe" eval "$work/m.mmoe" --weights "$dir/$stem.safetensors" --arch "$dir/$stem.arch.json" \
  --input "$dir/eval.npy" --labels "$dir/eval_labels.npy" > "$work/eval.out"
cat "$work/eval.out"
# Task rows: between the header (starting "  task") and the per-layer table.
awk -v limit="$mean_limit" -v label="$label" '
  /^  task / { in_tasks = 1; next }
  /^per-layer/ { in_tasks = 0 }
  in_tasks {
    tasks++
    d_auc = $4 < 0 ? -$4 : $4
    if (d_auc > 0.001) { printf "FAIL [%s]: %s: |AUC change| %s > 0.001\n", label, $1, $4; bad = 1 }
    if ($10 < 0.9995) { printf "FAIL [%s]: %s: Spearman %s < 0.9995\n", label, $1, $10; bad = 1 }
    if ($8 > limit) { printf "FAIL [%s]: %s: mean |dp| %s > %s\n", label, $1, $8, limit; bad = 1 }
  }
  END {
    if (tasks == 0) { printf "FAIL [%s]: no task rows in the eval output\n", label; exit 1 }
    if (bad) exit 1
    printf "ok [%s]: %d tasks within the targets\n", label, tasks
  }' "$work/eval.out"
