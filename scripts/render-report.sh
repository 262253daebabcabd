#!/usr/bin/env bash
# Renders an mmoe quality report (mmoe convert/eval --report) with headless Chromium and checks
# that it shows what it should (scripts/check_report.py): fails when the HTML is broken or the
# page renders blank.
#   scripts/render-report.sh REPORT.html [SCREENSHOT.png]     (default: REPORT.png)
# Needs chromium and python3 (scripts/setup.sh --report installs them).
set -euo pipefail
html=${1:?usage: render-report.sh REPORT.html [SCREENSHOT.png]}
png=${2:-${html%.html}.png}
[[ -s $html ]] || { echo "render-report: $html is missing or empty" >&2; exit 1; }
chromium=$(command -v chromium || command -v chromium-browser || true)
[[ -n $chromium ]] || { echo "render-report: chromium not found (scripts/setup.sh --report)" >&2; exit 1; }
rm -f "$png"
# Tall enough for the whole page (the per-task charts make it grow with the tasks); this also
# fails, before Chromium starts, on a report that is not well-formed.
height=$(python3 "$(dirname "$0")/check_report.py" --height "$html")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# --no-sandbox: CI runs as root, where Chromium refuses its sandbox. A fresh profile directory
# keeps runs independent; the report needs no network, so none is allowed.
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --proxy-server=127.0.0.1:9 --window-size="1000,$height" --screenshot="$png" "file://$(realpath "$html")" \
  > "$profile/chromium.log" 2>&1 || { cat "$profile/chromium.log" >&2; echo "render-report: chromium failed" >&2; exit 1; }
[[ -s $png ]] || { cat "$profile/chromium.log" >&2; echo "render-report: no screenshot written" >&2; exit 1; }
python3 "$(dirname "$0")/check_report.py" "$html" "$png"
