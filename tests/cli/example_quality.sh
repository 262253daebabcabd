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
# The agreement rows (after "  task  max|d| ..."), then the classification rows (after
# "classification against the labels:"), each ending at the next line that does not start
# with two spaces.
awk -v limit="$mean_limit" -v label="$label" '
  /^  task / { next }
  /^[^ ]/ { section = "" }
  /^float vs int8|^[^ ].* vs the float weights/ { section = "agreement"; next }
  /^classification against the labels:/ { section = "auc"; next }
  section == "agreement" && /^  / {
    tasks++
    if ($5 < 0.9995) { printf "FAIL [%s]: %s: Spearman %s < 0.9995\n", label, $1, $5; bad = 1 }
    if ($3 > limit) { printf "FAIL [%s]: %s: mean |dp| %s > %s\n", label, $1, $3, limit; bad = 1 }
  }
  section == "auc" && /^  / {
    aucs++
    d_auc = $4 < 0 ? -$4 : $4
    if (d_auc > 0.001) { printf "FAIL [%s]: %s: |AUC change| %s > 0.001\n", label, $1, $4; bad = 1 }
  }
  END {
    if (tasks == 0 || aucs != tasks) { printf "FAIL [%s]: %d agreement rows, %d AUC rows in the eval output\n", label, tasks, aucs; exit 1 }
    if (bad) exit 1
    printf "ok [%s]: %d tasks within the targets\n", label, tasks
  }' "$work/eval.out"
