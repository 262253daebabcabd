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
    # The input type: int8 for the seed's 0/1 rows, int16 for Gaussian rows, as asked otherwise.
    grep -q "^input: int8 (int8 holds every calibration value exactly); weights rounded with error feedback" \
      "$work/convert.out" || fail "no int8 input line: $(cat "$work/convert.out")"
    g=$src/examples/gaussian
    "$mmoe" convert --weights "$g/gaussian_mmoe.safetensors" --arch "$g/gaussian_mmoe.arch.json" \
      --calib "$g/calib.npy" -o "$work/g.mmoe" > "$work/g.out"
    grep -q "^input: int16 (its calibration values are not all on the int8 grid)" "$work/g.out" ||
      fail "Gaussian rows did not get an int16 input: $(cat "$work/g.out")"
    "$mmoe" inspect "$work/g.mmoe" > "$work/g_inspect.out"
    grep -q "format 2.3" "$work/g_inspect.out" || fail "int16 input not written as format 2.3"
    "$mmoe" convert --weights "$g/gaussian_mmoe.safetensors" --arch "$g/gaussian_mmoe.arch.json" \
      --calib "$g/calib.npy" --input-precision int8 --weight-rounding nearest -o "$work/g8.mmoe" > "$work/g8.out"
    grep -q "^input: int8 (--input-precision); weights rounded to nearest" "$work/g8.out" ||
      fail "--input-precision int8 not honoured: $(cat "$work/g8.out")"
    ls "$work" | grep -qv -e '\.mmoe$' -e '\.out$' && fail "stray files left: $(ls "$work")"
    true
    ;;
  inspect)
    convert_seed
    "$mmoe" inspect "$work/seed.mmoe" > "$work/inspect.out"
    for needle in "format 2.1" "requires: dense, mixture, sigmoid, softmax" "graph: 24 dense, 2 softmax, 2 mixture, 2 sigmoid" \
                  "dense      input[100] -> experts.0.0[64] int8 scale=" \
                  "softmax    gating1_network.4[4] -> gates[0].softmax[4] float32" \
                  "mixture    gates[1].softmax[4] x (experts.0.4, experts.1.4, experts.2.4, experts.3.4) -> tower_input.click[16] int16" \
                  "sigmoid    task2_head.4[1] -> click[1] float32" "'interaction' <- interaction" \
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
    expect_failure "'$mmoe' inspect '$work/truncated.mmoe'" "CHECKSUM_MISMATCH" "truncated.mmoe"
    # One flipped bit in the middle of the weights.
    cp "$work/seed.mmoe" "$work/flipped.mmoe"
    byte=$(od -An -tu1 -j 30000 -N 1 "$work/seed.mmoe")
    printf "\\x$(printf %02x $((byte ^ 4)))" | dd of="$work/flipped.mmoe" bs=1 seek=30000 conv=notrunc status=none
    cmp -s "$work/seed.mmoe" "$work/flipped.mmoe" && fail "the flip changed nothing"
    expect_failure "'$mmoe' score '$work/flipped.mmoe' -i '$seed/eval.npy'" "CHECKSUM_MISMATCH" "flipped.mmoe" "damaged"
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
    grep -qE "^  input +int8 +exact$" "$work/eval.out" || fail "input SQNR: $(cat "$work/eval.out")"
    grep -qE "^  experts\.3\.4 +int16 +[0-9]+\.[0-9]+$" "$work/eval.out" || fail "layer SQNR: $(cat "$work/eval.out")"
    grep -qE "^  gates\[1\]\.softmax +float32 +[0-9]+\.[0-9]+$" "$work/eval.out" || fail "softmax SQNR: $(cat "$work/eval.out")"
    grep -qE "^  tower_input\.click +experts\.0\.4 0\.[0-9]+ experts\.1\.4" "$work/eval.out" || fail "gate weights: $(cat "$work/eval.out")"
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
               '"flipped_pairs"' '"sqnr_db": null' '"exact": true' '"exact": false' '"name": "experts.0.0"' '"type": "int16"' '"mixtures"' '"mean_weight"' '"simulation_mismatches": 0'; do
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
      for needle in '<svg' 'id="sqnr"' 'id="gates"' 'class="chart delta-scatter"' 'class="chart delta-hist"' \
                    '<circle' 'class="zero"' 'class="mark max"' 'y scale ±' 'experts.3.4'; do
        grep -qF -- "$needle" "$html" || fail "$f report lacks $needle"
      done
      grep -qiE '<script|https?://[^w]|src=' "$html" && fail "$f report is not self-contained"
    done
    grep -qF "AUC float" "$work/eval.html" || fail "eval report lacks the AUC"
    grep -qF "calibration mse" "$work/convert.html" || fail "convert report lacks the method"
    expect_failure "'$mmoe' convert --weights '$seed/seed_mmoe.safetensors' --calib '$seed/calib.npy' -o '$work/y.mmoe' --report '$seed/calib.npy'" "is the input file"
    true
    ;;
  convert-bad-input)
    # Each bad input: a clear error naming the file, a non-zero exit, and the model already at
    # the output path left exactly as it was, with no temporary file beside it.
    convert_seed
    cp "$work/seed.mmoe" "$work/good.mmoe"
    mkdir "$work/dest"
    # Overwrites 4 bytes of FILE at OFFSET with the float32 whose hex bytes (little-endian) follow.
    poke() { printf "\\x$3\\x$4\\x$5\\x$6" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
    weights_data=$((8 + $(od -An -tu8 -N 8 "$seed/seed_mmoe.safetensors")))
    cp "$seed/seed_mmoe.safetensors" "$work/nan.safetensors"
    poke "$work/nan.safetensors" $((weights_data + 40)) 00 00 c0 7f
    cp "$seed/seed_mmoe.safetensors" "$work/inf.safetensors"
    poke "$work/inf.safetensors" $((weights_data + 400)) 00 00 80 ff
    cp "$seed/calib.npy" "$work/nan.npy"
    poke "$work/nan.npy" $((128 + 4 * 205)) 00 00 c0 7f
    cp "$seed/calib.npy" "$work/inf.npy"
    poke "$work/inf.npy" $((128 + 4 * 99)) 00 00 80 7f
    # Issue 18: extreme weights ended in "internal error: the new model does not verify" (and 3e38
    # in a float-to-int conversion with undefined behaviour). The first layer's (experts.0.0, the
    # first tensor in the data) row 0: 100 weights of 1e-45 (their int8 scale underflows to 0),
    # of 1e-30 (a multiplier below 2^-64); one weight of 3e38 (its output's range overflows).
    poke_row() {  # FILE COUNT HEX-BYTES...: COUNT float32s from the start of the weights data
      local file=$1 count=$2 one i bytes=""
      one=$(printf '\\x%s' "${@:3}")
      for ((i = 0; i < count; ++i)); do bytes+=$one; done
      printf "$bytes" | dd of="$file" bs=1 seek="$weights_data" conv=notrunc status=none
    }
    cp "$seed/seed_mmoe.safetensors" "$work/denormal.safetensors"
    poke_row "$work/denormal.safetensors" 100 01 00 00 00
    cp "$seed/seed_mmoe.safetensors" "$work/tiny.safetensors"
    poke_row "$work/tiny.safetensors" 100 60 42 a2 0d
    cp "$seed/seed_mmoe.safetensors" "$work/huge.safetensors"
    poke_row "$work/huge.safetensors" 1 e6 b1 61 7f
    : > "$work/empty.csv"
    head -c 1000 "$seed/calib.npy" > "$work/short.npy"
    sed 's/"input_dim": 100/"input_dim": 99/' "$seed/seed_mmoe.arch.json" > "$work/wrong_dim.json"
    sed 's/experts\.1\.2\.weight/experts.1.7.weight/' "$seed/seed_mmoe.arch.json" > "$work/missing.json"
    sed '0,/"activation"/s//"activaton"/' "$seed/seed_mmoe.arch.json" > "$work/typo.json"
    w=$seed/seed_mmoe.safetensors a=$seed/seed_mmoe.arch.json c=$seed/calib.npy
    check_case() {  # WEIGHTS ARCH CALIB EXPECTED...
      local weights=$1 arch=$2 calib=$3; shift 3
      cp "$work/good.mmoe" "$work/dest/model.mmoe"
      expect_failure "'$mmoe' convert --weights '$weights' --arch '$arch' --calib '$calib' -o '$work/dest/model.mmoe'" "$@"
      cmp -s "$work/good.mmoe" "$work/dest/model.mmoe" || fail "a failed convert changed the existing model ($*)"
      [[ $(ls -A "$work/dest") == model.mmoe ]] || fail "stray files after a failed convert: $(ls -A "$work/dest")"
    }
    check_case "$work/nan.safetensors" "$a" "$c" "nan.safetensors" "NaN"
    check_case "$work/inf.safetensors" "$a" "$c" "inf.safetensors" "Inf"
    check_case "$w" "$a" "$work/nan.npy" "nan.npy" "row 2, column 5 is NaN"
    check_case "$w" "$a" "$work/inf.npy" "inf.npy" "row 0, column 99 is +Inf"
    check_case "$w" "$a" "$work/empty.csv" "empty.csv" "empty"
    check_case "$w" "$a" "$work/short.npy" "short.npy" "truncated"
    check_case "$w" "$a" "$src/tests/data/bad_width.csv" "bad_width.csv" "line 4"
    check_case "$w" "$work/wrong_dim.json" "$c" "100"
    check_case "$w" "$work/missing.json" "$c" "experts.1.7.weight"
    check_case "$w" "$work/typo.json" "$c" "typo.json" "activaton"
    check_case "$work/denormal.safetensors" "$a" "$c" "experts.0.0: output 0: weights as large as 1.4013e-45" \
      "weight scale of 0"
    check_case "$work/tiny.safetensors" "$a" "$c" "experts.0.0: output 0: the requantization multiplier" \
      "weight scale 7.87402e-33" "outside the runtime's range [2^-64, 2^30]"
    check_case "$work/huge.safetensors" "$a" "$c" "experts.0.0: output 1: the requantization multiplier" \
      "output scale 1.17647e+36"
    # The output is one of the inputs, also through another spelling of its path or a link.
    cp "$seed/seed_mmoe.arch.json" "$work/arch.json"
    ln -s "$work/arch.json" "$work/link.json"
    for out in "$work/arch.json" "$work/dest/../arch.json" "$work/link.json"; do
      expect_failure "'$mmoe' convert --weights '$w' --arch '$work/arch.json' --calib '$c' -o '$out'" "is the input file"
      cmp -s "$seed/seed_mmoe.arch.json" "$work/arch.json" || fail "the input was modified (-o $out)"
    done
    # A full disk: a file size limit makes write() fail (EFBIG) part-way through the model.
    cp "$work/good.mmoe" "$work/dest/model.mmoe"
    expect_failure "(ulimit -f 16; '$mmoe' convert --weights '$w' --arch '$a' --calib '$c' -o '$work/dest/model.mmoe')" \
      "model.mmoe: write failed: File too large"
    cmp -s "$work/good.mmoe" "$work/dest/model.mmoe" || fail "a failed write changed the existing model"
    [[ $(ls -A "$work/dest") == model.mmoe ]] || fail "stray files after a failed write: $(ls -A "$work/dest")"
    ;;
  sparse)
    # A model with embedding tables, ids, a bag and dense features (tests/data/sparse), inputs by name.
    sp=$src/tests/data/sparse
    "$mmoe" convert --weights "$sp/sparse_mmoe.safetensors" --arch "$sp/sparse_mmoe.arch.json" \
      --calib "$sp/calib.npz" -o "$work/sparse.mmoe" > "$work/convert.out"
    grep -qF "4 inputs (user_id: ids, item_id: ids, genres: bag, dense: 3 floats)" "$work/convert.out" ||
      fail "convert summary: $(head -1 "$work/convert.out")"
    grep -qE "^  like +0\.00[0-9]+ +0\.000" "$work/convert.out" || fail "agreement: $(cat "$work/convert.out")"
    "$mmoe" inspect "$work/sparse.mmoe" > "$work/inspect.out"
    for needle in "format 2.1" "requires: concat, dense, embedding" "input 'genres': a bag of ids per item, ids in [0, 20)" \
                  "table 'embedding_dict.item_id.weight': 300 rows x 8" \
                  "embedding  genres[1] -> genres.emb[4] float32 | table 'embedding_dict.genres.weight', mean, padding id 0" \
                  "concat     user_id.emb[8] + item_id.emb[8] + genres.emb[4] + dense[3] -> dnn_input[23]" \
                  "embedding tables 8,240 bytes"; do
      grep -qF -- "$needle" "$work/inspect.out" || fail "inspect output lacks '$needle': $(cat "$work/inspect.out")"
    done
    # .npz and .csv with a header: the same rows, the same bytes.
    "$mmoe" score "$work/sparse.mmoe" -i "$sp/eval.npz" -o "$work/a.npy" > /dev/null
    "$mmoe" score "$work/sparse.mmoe" -i "$sp/eval.csv" -o "$work/b.npy" > /dev/null
    cmp -s "$work/a.npy" "$work/b.npy" || fail ".npz and .csv inputs score differently"
    "$mmoe" eval "$work/sparse.mmoe" --weights "$sp/sparse_mmoe.safetensors" --arch "$sp/sparse_mmoe.arch.json" \
      -i "$sp/eval.npz" -q > "$work/eval.out"
    grep -qE "^  dnn_input +int8 +[0-9]{2}\." "$work/eval.out" || fail "eval per-tensor SQNR: $(cat "$work/eval.out")"
    # What does not fit is named.
    expect_failure "'$mmoe' score '$work/sparse.mmoe' -i '$sp/../seed_scores.npy'" "give them as .npz"
    printf 'user_id,item_id,genres,age,price,hour\n5,7,1 2,0.1,0.2,0.3\n999,7,1,0.1,0.2,0.3\n' > "$work/bad.csv"
    expect_failure "'$mmoe' score '$work/sparse.mmoe' -i '$work/bad.csv'" "item 1, input 'user_id': id 999" "200 rows"
    # mmoe bench scores a sparse model on pseudo-random items or the file's, cycled to the batch.
    for input in "" "-i $sp/eval.npz"; do
      "$mmoe" bench "$work/sparse.mmoe" --batch 300 --runs 3 --warmup 1 --bag-length 3 --json $input > "$work/bench.json"
      grep -qE '"batch":300,.*"inputs":"(random|file)".*"items_per_s":[1-9]' "$work/bench.json" ||
        fail "bench on a sparse model: $(cat "$work/bench.json")"
    done
    ;;
  onnx)
    # mmoe convert --onnx: DeepCTR-Torch's graph (one float X, packed: format 2.2), inspect, score,
    # eval against the graph, bench; and what it refuses, leaving no file behind.
    sx=$src/examples/sparse
    "$mmoe" convert --onnx "$sx/deepctr_mmoe.onnx" --task-names remote,salary --calib "$sx/calib_x.npz" \
      -o "$work/d.mmoe" > "$work/convert.out"
    for needle in "every task match the ONNX graph on 256 calibration rows" \
                  "7 inputs (country: ids, company_size: ids, open_source: ids, hobby: ids, roles: bag, X[15]: 1 floats, X[16]: 1 floats), packed in X (17 floats per item)" \
                  "2 tasks (remote, salary)"; do
      grep -qF -- "$needle" "$work/convert.out" || fail "convert output lacks '$needle': $(cat "$work/convert.out")"
    done
    "$mmoe" inspect "$work/d.mmoe" > "$work/inspect.out"
    for needle in "format 2.2" "packed_input" "packed input 'X': 17 floats per item" \
                  "  X[4:15] input 'roles': a bag of ids per item, ids in [0, 14)"; do
      grep -qF -- "$needle" "$work/inspect.out" || fail "inspect output lacks '$needle': $(cat "$work/inspect.out")"
    done
    "$mmoe" score "$work/d.mmoe" -i "$sx/eval_x.npz" --compare "$sx/deepctr_mmoe_eval_torch.npy" > "$work/score.out"
    grep -qE "^  remote +0\.[0-9]+ +0\.00[0-4]" "$work/score.out" || fail "score against PyTorch: $(cat "$work/score.out")"
    "$mmoe" eval "$work/d.mmoe" --onnx "$sx/deepctr_mmoe.onnx" -i "$sx/eval_x.npz" --labels "$sx/eval_labels.npy" -q > "$work/eval.out"
    grep -qF "vs the float ONNX graph" "$work/eval.out" || fail "eval: $(head -3 "$work/eval.out")"
    "$mmoe" bench "$work/d.mmoe" --batch 64 --runs 3 --warmup 1 --json > "$work/bench.json"
    grep -qE '"inputs":"random packed".*"items_per_s":[1-9]' "$work/bench.json" || fail "bench: $(cat "$work/bench.json")"
    # Refusals, naming what is wrong.
    od=$src/tests/data/onnx
    expect_failure "'$mmoe' convert --onnx '$sx/deepctr_mmoe.onnx' --weights '$sx/deepctr_mmoe.safetensors' --calib '$sx/calib_x.npz' -o '$work/x.mmoe'" "excludes"
    expect_failure "'$mmoe' convert --onnx '$sx/deepctr_mmoe.onnx' --arch '$sx/deepctr_mmoe.arch.json' --calib '$sx/calib_x.npz' -o '$work/x.mmoe'" "an ONNX graph describes itself"
    expect_failure "'$mmoe' convert --onnx '$sx/deepctr_mmoe.onnx' --calib '$sx/calib.npz' -o '$work/x.mmoe'" "calib.npz: no array 'X'"
    expect_failure "'$mmoe' convert --onnx '$sx/deepctr_mmoe.onnx' --task-names a,b,c --calib '$sx/calib_x.npz' -o '$work/x.mmoe'" "3 task names for 2 tasks"
    expect_failure "'$mmoe' convert --onnx '$od/refused_cos.onnx' --calib '$od/refused_cos_inputs.npz' -o '$work/x.mmoe'" "refused_cos.onnx: node '/Cos' (Cos)"
    expect_failure "'$mmoe' convert --onnx '$od/refused_embedding_bag.onnx' --calib '$od/refused_embedding_bag_inputs.npz' -o '$work/x.mmoe'" "(Loop)" "nn.EmbeddingBag"
    expect_failure "'$mmoe' convert --onnx '$sx/calib.npz' --calib '$sx/calib.npz' -o '$work/x.mmoe'" "calib.npz: not an ONNX model"
    expect_failure "'$mmoe' eval '$work/d.mmoe' -i '$sx/eval_x.npz'" "--weights or --onnx"
    [[ -e $work/x.mmoe ]] && fail "a refused conversion wrote $work/x.mmoe"
    true
    ;;
  *)
    fail "unknown case"
    ;;
esac
echo "ok [$case_name]"
