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
for example in seed/seed_mmoe census/census_mmoe gaussian/gaussian_mmoe; do
  dir=examples/$(dirname "$example")
  stem=$(basename "$example")
  [[ -f $dir/$stem.safetensors ]] || continue
  for method in "${methods[@]}"; do
    "$mmoe" convert --weights "$dir/$stem.safetensors" --arch "$dir/$stem.arch.json" --calib "$dir/calib.npy" \
      --calibration "$method" ${CONVERT_ARGS:-} -o "$work/m.mmoe" > /dev/null
    "$mmoe" eval "$work/m.mmoe" --weights "$dir/$stem.safetensors" --arch "$dir/$stem.arch.json" \
      --input "$dir/eval.npy" --labels "$dir/eval_labels.npy" |
      awk -v ex="$(basename "$dir")" -v m="$method${CONVERT_ARGS:+ $CONVERT_ARGS}" '
        /^  task / { on = 1; next }
        /^per-layer/ { on = 0 }
        on { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", ex, m, $1, $2, $3, $4, $8, $9, $7, $10, $11 }'
  done
done
