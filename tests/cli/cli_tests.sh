#!/usr/bin/env bash
# End-to-end tests of the `mmoe` command-line tool: one case per ctest test.
#   cli_tests.sh MMOE_BINARY SOURCE_DIR CASE
# Each case works in a fresh temporary directory and fails with a message saying what broke.
set -euo pipefail
mmoe=$1
src=$2
case_name=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seed=$src/examples/seed

fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }
convert_seed() {
  "$mmoe" convert --weights "$seed/seed_mmoe.safetensors" --arch "$seed/seed_mmoe.arch.json" \
    --calib "$seed/calib.npy" -o "$work/seed.mmoe" > "$work/convert.out"
}
# Runs a command that must fail; its stderr must contain every further argument.
expect_failure() {
  local cmd=$1; shift
  if eval "$cmd" > "$work/out" 2> "$work/err"; then fail "succeeded: $cmd"; fi
  for needle in "$@"; do
    grep -qF -- "$needle" "$work/err" || fail "stderr of '$cmd' lacks '$needle': $(cat "$work/err")"
  done
}

case $case_name in
  convert)
    convert_seed
    [[ -s $work/seed.mmoe ]] || fail "no model written"
    grep -q "wrote $work/seed.mmoe" "$work/convert.out" || fail "summary lacks the output: $(cat "$work/convert.out")"
    grep -qE "^  interaction +[0-9.]+ +[0-9.]+" "$work/convert.out" || fail "no agreement table"
    # Without --arch the seed's key layout is recognised; tasks get default names.
    "$mmoe" convert --weights "$seed/seed_mmoe.safetensors" --calib "$seed/calib.npy" -o "$work/b.mmoe" > "$work/b.out"
    grep -q "(task1, task2)" "$work/b.out" || fail "seed layout not recognised: $(head -2 "$work/b.out")"
    ls "$work" | grep -qv -e '\.mmoe$' -e '\.out$' && fail "stray files left: $(ls "$work")"
    true
    ;;
  inspect)
    convert_seed
    "$mmoe" inspect "$work/seed.mmoe" > "$work/inspect.out"
    for needle in "MMoE(" "(experts): ModuleList(" "Linear(in_features=100, out_features=64, bias=True)" \
                  "Softmax(dim=1) over experts [0, 1, 2, 3]" "Sigmoid()" "'interaction'" "'click'" \
                  "zp=-128" "multiply-accumulates per item"; do
      grep -qF -- "$needle" "$work/inspect.out" || fail "inspect output lacks '$needle'"
    done
    ;;
  score)
    convert_seed
    "$mmoe" score "$work/seed.mmoe" -i "$seed/eval.npy" -o "$work/s.npy" > /dev/null
    # npy: 128-byte header + 2000 x 2 float32.
    [[ $(stat -c %s "$work/s.npy") -eq $((128 + 2000 * 2 * 4)) ]] || fail "scores npy has the wrong size"
    head -c 128 "$work/s.npy" | grep -q "'shape': (2000, 2)" || fail "scores npy header: $(head -c 128 "$work/s.npy")"
    # CSV input with a header gives the same scores as the same rows from .npy.
    "$mmoe" score "$work/seed.mmoe" -i "$seed/eval.npy" -o "$work/all.csv" > /dev/null
    "$mmoe" score "$work/seed.mmoe" -i "$src/tests/data/seed_rows.csv" -o "$work/rows.csv" > /dev/null
    [[ $(head -1 "$work/rows.csv") == "interaction,click" ]] || fail "csv header: $(head -1 "$work/rows.csv")"
    diff <(head -11 "$work/all.csv") "$work/rows.csv" > /dev/null || fail "csv and npy inputs score differently"
    "$mmoe" score "$work/seed.mmoe" -i "$seed/eval.npy" --compare "$seed/eval_torch.npy" --head 2 > "$work/cmp.out"
    grep -qE "^  click +[0-9.]+ +0\.00" "$work/cmp.out" || fail "comparison table: $(cat "$work/cmp.out")"
    ;;
  bad-input)
    convert_seed
    expect_failure "'$mmoe' score '$work/seed.mmoe' -i '$src/tests/data/bad_width.csv'" "bad_width.csv" "line 4" "99"
    expect_failure "'$mmoe' score '$work/seed.mmoe' -i '$src/tests/data/nan_value.csv'" "nan_value.csv" "line 3"
    expect_failure "'$mmoe' score '$work/missing.mmoe' -i '$seed/eval.npy'" "IO_ERROR" "missing.mmoe"
    expect_failure "'$mmoe' inspect '$seed/seed_mmoe.safetensors'" "NOT_A_MODEL"
    head -c 20000 "$work/seed.mmoe" > "$work/truncated.mmoe"
    expect_failure "'$mmoe' inspect '$work/truncated.mmoe'" "CORRUPT_MODEL" "truncated.mmoe"
    expect_failure "'$mmoe' convert --weights '$seed/seed_mmoe.safetensors' --calib '$src/tests/data/bad_width.csv' -o '$work/x.mmoe'" "bad_width.csv"
    [[ -e $work/x.mmoe ]] && fail "a failed convert left an output file"
    expect_failure "'$mmoe' score '$work/seed.mmoe'" "--input"
    expect_failure "'$mmoe' frobnicate" "frobnicate"
    true
    ;;
  no-clobber)
    # An output path equal to an input is refused and the input survives byte for byte.
    cp "$seed/calib.npy" "$work/calib.npy"
    before=$(sha256sum < "$work/calib.npy")
    expect_failure "'$mmoe' convert --weights '$seed/seed_mmoe.safetensors' --calib '$work/calib.npy' -o '$work/calib.npy'" "is the input file"
    [[ $(sha256sum < "$work/calib.npy") == "$before" ]] || fail "the input was modified"
    # A failed write (missing directory) leaves nothing behind.
    expect_failure "'$mmoe' convert --weights '$seed/seed_mmoe.safetensors' --calib '$seed/calib.npy' -o '$work/no/such/dir/m.mmoe'" "m.mmoe"
    [[ -z $(ls "$work" | grep -v calib.npy | grep -v -e '^out$' -e '^err$') ]] || fail "stray files: $(ls "$work")"
    ;;
  calibration)
    # Every method converts; the file and the summary name the method; minmax is the default
    # and gives the golden model's bytes (apart from the creation time).
    for method in minmax percentile percentile:99.9 mse; do
      "$mmoe" convert --weights "$seed/seed_mmoe.safetensors" --arch "$seed/seed_mmoe.arch.json" \
        --calib "$seed/calib.npy" --calibration "$method" -o "$work/m.mmoe" > "$work/c.out" 2> "$work/c.err"
      name=$method; [[ $method == percentile ]] && name=percentile:99.99
      grep -q "calibration: $name over 1,000 rows" "$work/c.out" || fail "summary for $method: $(cat "$work/c.out")"
      "$mmoe" inspect "$work/m.mmoe" > "$work/i.out"
      grep -q "calibration: $name over 1000 rows" "$work/i.out" || fail "inspect lacks $name"
      # No progress bar when stderr is not a terminal.
      [[ ! -s $work/c.err ]] || fail "stderr not empty for $method: $(cat "$work/c.err")"
    done
    expect_failure "'$mmoe' convert --weights '$seed/seed_mmoe.safetensors' --calib '$seed/calib.npy' --calibration percentile:40 -o '$work/x.mmoe'" "percentile:40" "(50, 100]"
    expect_failure "'$mmoe' convert --weights '$seed/seed_mmoe.safetensors' --calib '$seed/calib.npy' --calibration kl -o '$work/x.mmoe'" "unknown calibration method 'kl'"
    # A progress bar appears on a terminal (script gives the command one), not with --quiet.
    if command -v script > /dev/null; then
      cmd="'$mmoe' convert --weights '$seed/seed_mmoe.safetensors' --calib '$seed/calib.npy' -o '$work/t.mmoe'"
      script -qec "$cmd" /dev/null > "$work/tty.out"
      grep -q "ranges .*100% 1000/1000 rows" "$work/tty.out" || fail "no progress bar on a terminal: $(cat -v "$work/tty.out")"
      script -qec "$cmd --quiet" /dev/null > "$work/tty.out"
      grep -q "100% 1000/1000" "$work/tty.out" && fail "--quiet still draws a bar: $(cat -v "$work/tty.out")"
    fi
    true
    ;;
  eval)
    convert_seed
    "$mmoe" eval "$work/seed.mmoe" --weights "$seed/seed_mmoe.safetensors" --arch "$seed/seed_mmoe.arch.json" \
      --input "$seed/eval.npy" --labels "$seed/eval_labels.npy" > "$work/eval.out"
    grep -qE "^  interaction +0\.88[0-9]+ +0\.88[0-9]+ +[-+]0\.000[0-9]+ " "$work/eval.out" || fail "task row: $(cat "$work/eval.out")"
    grep -qE "^  input +exact$" "$work/eval.out" || fail "input SQNR: $(cat "$work/eval.out")"
    grep -qE "^  experts\.3\.4 +[0-9]+\.[0-9]+$" "$work/eval.out" || fail "layer SQNR: $(cat "$work/eval.out")"
    grep -q "warning" "$work/eval.out" && fail "simulation and runtime disagree: $(cat "$work/eval.out")"
    # Without labels: agreement only.
    "$mmoe" eval "$work/seed.mmoe" --weights "$seed/seed_mmoe.safetensors" --input "$seed/eval.npy" > "$work/nolab.out"
    grep -q "auc" "$work/nolab.out" && fail "AUC without labels: $(head -3 "$work/nolab.out")"
    grep -qE "^  click +0\.0[0-9]+ +0\.00[0-9]+ " "$work/nolab.out" || fail "no agreement row: $(cat "$work/nolab.out")"
    # Errors name the file and what is wrong.
    expect_failure "'$mmoe' eval '$work/seed.mmoe' --weights '$seed/seed_mmoe.safetensors' --input '$seed/eval.npy' --labels '$seed/calib.npy'" "calib.npy" "100 columns" "2 tasks"
    expect_failure "'$mmoe' eval '$work/seed.mmoe' --weights '$seed/seed_mmoe.safetensors' --input '$seed/eval.npy' --labels '$seed/eval_torch.npy'" "eval_torch.npy: row 0" "0 or 1"
    expect_failure "'$mmoe' eval '$work/seed.mmoe' --weights '$seed/seed_mmoe.safetensors' --input '$seed/calib.npy' --labels '$seed/eval_labels.npy'" "eval_labels.npy: has 2000 rows, the input has 1000"
    expect_failure "'$mmoe' eval '$work/seed.mmoe' --weights '$seed/seed_mmoe.safetensors' --input '$src/tests/data/bad_width.csv'" "bad_width.csv"
    expect_failure "'$mmoe' eval '$work/seed.mmoe' --input '$seed/eval.npy'" "--weights"
    true
    ;;
  eval-json)
    convert_seed
    "$mmoe" eval "$work/seed.mmoe" --weights "$seed/seed_mmoe.safetensors" --arch "$seed/seed_mmoe.arch.json" \
      --input "$seed/eval.npy" --labels "$seed/eval_labels.npy" --json > "$work/eval.json"
    # Machine-readable: parse it with the tool's own JSON reader (the arch reader) would need a
    # schema; check the fields textually and that it is one JSON object.
    head -c1 "$work/eval.json" | grep -q "{" || fail "not a JSON object: $(head -3 "$work/eval.json")"
    for key in '"task": "interaction"' '"auc_float"' '"auc_int8"' '"auc_delta"' '"logloss_int8"' '"spearman"' \
               '"flipped_pairs"' '"sqnr_db": null' '"exact": true' '"exact": false' '"name": "experts.0.0"' '"gate_means"' '"simulation_mismatches": 0'; do
      grep -qF -- "$key" "$work/eval.json" || fail "JSON lacks $key"
    done
    ;;
  report)
    convert_seed
    "$mmoe" eval "$work/seed.mmoe" --weights "$seed/seed_mmoe.safetensors" --input "$seed/eval.npy" \
      --labels "$seed/eval_labels.npy" --report "$work/eval.html" > "$work/eval.out"
    grep -q "wrote $work/eval.html" "$work/eval.out" || fail "eval did not say it wrote the report"
    "$mmoe" convert --weights "$seed/seed_mmoe.safetensors" --calib "$seed/calib.npy" --calibration mse \
      -o "$work/m.mmoe" --report "$work/convert.html" > "$work/convert.out"
    for f in eval convert; do
      html=$work/$f.html
      [[ -s $html ]] || fail "no $f report"
      for needle in '<svg' 'id="sqnr"' 'id="gates"' 'class="chart scatter"' '<circle' 'experts.3.4'; do
        grep -qF -- "$needle" "$html" || fail "$f report lacks $needle"
      done
      grep -qiE '<script|https?://[^w]|src=' "$html" && fail "$f report is not self-contained"
    done
    grep -qF "AUC float" "$work/eval.html" || fail "eval report lacks the AUC"
    grep -qF "calibration mse" "$work/convert.html" || fail "convert report lacks the method"
    expect_failure "'$mmoe' convert --weights '$seed/seed_mmoe.safetensors' --calib '$seed/calib.npy' -o '$work/y.mmoe' --report '$seed/calib.npy'" "is the input file"
    true
    ;;
  *)
    fail "unknown case"
    ;;
esac
echo "ok [$case_name]"
