#!/usr/bin/env bash
# Converts a shipped example model and checks the int8 model against the float weights on the
# example's held-out rows with `mmoe eval`, per task, against the targets of
# docs/quality.md: Spearman >= 0.9995 for every task; for classification tasks
# |AUC(int8) - AUC(float)| <= 0.001 and mean |dp| at most MEAN_LIMIT (0.0025 for 0/1 and one-hot
# inputs, 0.0030 for Gaussian ones); for regression tasks RMSE(int8) within 1% of RMSE(float).
#   example_quality.sh MMOE_BINARY EXAMPLE_DIR MODEL_STEM CALIBRATION MEAN_LIMIT [CALIB EVAL LABELS [onnx]]
# CALIB, EVAL and LABELS default to EXAMPLE_DIR's calib.npy, eval.npy and eval_labels.npy. With
# "onnx" the float model is MODEL_STEM.onnx (mmoe convert --onnx) instead of its safetensors.
set -euo pipefail
mmoe=$1
dir=$2
stem=$3
method=$4
mean_limit=$5
calib=${6:-$dir/calib.npy}
eval_rows=${7:-$dir/eval.npy}
labels=${8:-$dir/eval_labels.npy}
float_model=(--weights "$dir/$stem.safetensors" --arch "$dir/$stem.arch.json")
if [[ ${9:-} == onnx ]]; then
  float_model=(--onnx "$dir/$stem.onnx")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
label="$(basename "$dir")/$stem${9:+ ($9)} $method"

"$mmoe" convert "${float_model[@]}" --calib "$calib" --calibration "$method" -o "$work/m.mmoe" > /dev/null
"$mmoe" eval "$work/m.mmoe" "${float_model[@]}" --input "$eval_rows" --labels "$labels" > "$work/eval.out"
cat "$work/eval.out"
# The agreement rows (after "  task  max|d| ..."), then the classification rows (after
# "classification against the labels:") and the regression rows (after "regression against the
# labels:"), each section ending at the next line that does not start with two spaces.
awk -v limit="$mean_limit" -v label="$label" '
  /^  task / { next }
  /^[^ ]/ { section = "" }
  /^[^ ].* vs the float / { section = "agreement"; next }
  /^classification against the labels:/ { section = "auc"; next }
  /^regression against the labels:/ { section = "rmse"; next }
  section == "agreement" && /^  / {
    tasks++; order[tasks] = $1; mean[$1] = $3
    if ($5 < 0.9995) { printf "FAIL [%s]: %s: Spearman %s < 0.9995\n", label, $1, $5; bad = 1 }
  }
  section == "auc" && /^  / {
    checked[$1] = 1
    d_auc = $4 < 0 ? -$4 : $4
    if (d_auc > 0.001) { printf "FAIL [%s]: %s: |AUC change| %s > 0.001\n", label, $1, $4; bad = 1 }
    if (mean[$1] > limit) { printf "FAIL [%s]: %s: mean |dp| %s > %s\n", label, $1, mean[$1], limit; bad = 1 }
  }
  section == "rmse" && /^  / {
    checked[$1] = 1
    if ($3 > 1.01 * $2) { printf "FAIL [%s]: %s: RMSE %s against float %s\n", label, $1, $3, $2; bad = 1 }
  }
  END {
    if (tasks == 0) { printf "FAIL [%s]: no task rows in the eval output\n", label; exit 1 }
    for (t = 1; t <= tasks; t++) {
      if (!checked[order[t]]) { printf "FAIL [%s]: %s: no classification or regression row\n", label, order[t]; bad = 1 }
    }
    if (bad) exit 1
    printf "ok [%s]: %d tasks within the targets\n", label, tasks
  }' "$work/eval.out"
