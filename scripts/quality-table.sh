#!/usr/bin/env bash
# Prints the markdown table of docs/quality.md: every shipped example model converted with
# every calibration method, then `mmoe eval` against its float weights on the held-out rows.
#   scripts/quality-table.sh [METHOD ...]     (default: minmax percentile percentile:99.9 mse)
# CONVERT_ARGS adds convert options, e.g. CONVERT_ARGS="--activations int8 --no-bias-correction";
# they are shown in the calibration column.
set -euo pipefail
cd "$(dirname "$0")/.."
mmoe=${MMOE:-build/cli/mmoe}
methods=("$@")
((${#methods[@]})) || methods=(minmax percentile percentile:99.9 mse)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| example | calibration | task | AUC float | AUC int8 | ΔAUC | mean \\|Δp\\| | p99 \\|Δp\\| | max \\|Δp\\| | Spearman | flipped pairs |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
# example/stem [calib eval labels]: the traced models of examples/families read the census rows.
models=(seed/seed_mmoe census/census_mmoe gaussian/gaussian_mmoe gaussian/gaussian_seed gaussian/gaussian_6x3
        families/ple families/activation_mmoe families/esmm)
for example in "${models[@]}"; do
  dir=examples/$(dirname "$example")
  stem=$(basename "$example")
  [[ -f $dir/$stem.safetensors ]] || continue
  calib=$dir/calib.npy eval_rows=$dir/eval.npy labels=$dir/eval_labels.npy
  if [[ $stem == gaussian_seed || $stem == gaussian_6x3 ]]; then  # examples/gaussian/train_accuracy.py
    calib=$dir/${stem}_calib.npy eval_rows=$dir/${stem}_eval.npy labels=$dir/${stem}_eval_labels.npy
  fi
  if [[ $dir == examples/families ]]; then
    calib=examples/census/calib.npy eval_rows=examples/census/eval.npy labels=$dir/${stem}_eval_labels.npy
  fi
  for method in "${methods[@]}"; do
    "$mmoe" convert --weights "$dir/$stem.safetensors" --arch "$dir/$stem.arch.json" --calib "$calib" \
      --calibration "$method" ${CONVERT_ARGS:-} -o "$work/m.mmoe" > /dev/null
    "$mmoe" eval "$work/m.mmoe" --weights "$dir/$stem.safetensors" --arch "$dir/$stem.arch.json" \
      --input "$eval_rows" --labels "$labels" |
      awk -v ex="$([[ $dir == examples/families || $stem == gaussian_seed || $stem == gaussian_6x3 ]] && echo "$stem" || basename "$dir")" \
          -v m="$method${CONVERT_ARGS:+ $CONVERT_ARGS}" '
        /^  task / { next }
        /^[^ ]/ { section = "" }
        /^[^ ].* vs the float weights/ { section = "agreement"; next }
        /^classification against the labels:/ { section = "auc"; next }
        /^regression against the labels:/ { section = "rmse"; next }
        section == "agreement" && /^  / { n++; task[n] = $1; row[$1] = $3 " | " $4 " | " $2 " | " $5 " | " $6 }
        section == "auc" && /^  / { auc[$1] = $2 " | " $3 " | " $4 }
        section == "rmse" && /^  / { auc[$1] = "RMSE " $2 " | RMSE " $3 " | " }
        END { for (i = 1; i <= n; i++) printf "| %s | %s | %s | %s | %s |\n", ex, m, task[i], auc[task[i]], row[task[i]] }'
  done
done
