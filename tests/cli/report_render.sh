#!/usr/bin/env bash
# The quality report renders in headless Chromium (scripts/render-report.sh), and the checker
# catches a broken page, one without its error histograms and a blank page.
#   report_render.sh MMOE_BINARY SOURCE_DIR
set -euo pipefail
mmoe=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seed=$src/examples/seed
fail() { echo "FAIL [report.render]: $*" >&2; exit 1; }

"$mmoe" convert --weights "$seed/seed_mmoe.safetensors" --arch "$seed/seed_mmoe.arch.json" \
  --calib "$seed/calib.npy" -o "$work/seed.mmoe" > /dev/null
"$mmoe" eval "$work/seed.mmoe" --weights "$seed/seed_mmoe.safetensors" --arch "$seed/seed_mmoe.arch.json" \
  --input "$seed/eval.npy" --labels "$seed/eval_labels.npy" --report "$work/report.html" > /dev/null
"$src/scripts/render-report.sh" "$work/report.html" "$work/report.png" || fail "the report does not render"

# A truncated file is not well-formed.
head -c 3000 "$work/report.html" > "$work/broken.html"
if "$src/scripts/render-report.sh" "$work/broken.html" "$work/broken.png" 2> "$work/err"; then
  fail "a truncated report passed"
fi
grep -q "not well-formed" "$work/err" || fail "truncated report: $(cat "$work/err")"
# A report without its |delta| histograms fails.
sed 's/class="chart delta-hist"/class="chart"/' "$work/report.html" > "$work/nohist.html"
if "$src/scripts/render-report.sh" "$work/nohist.html" "$work/nohist.png" 2> "$work/err"; then
  fail "a report without the |delta| histograms passed"
fi
grep -q "histograms for" "$work/err" || fail "report without histograms: $(cat "$work/err")"
# A page whose content does not display renders blank.
sed 's|<body>|<body style="display: none">|' "$work/report.html" > "$work/blank.html"
if "$src/scripts/render-report.sh" "$work/blank.html" "$work/blank.png" 2> "$work/err"; then
  fail "a blank page passed"
fi
grep -q "is blank" "$work/err" || fail "blank page: $(cat "$work/err")"
echo "ok [report.render]"
