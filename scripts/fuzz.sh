#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with Debian's clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on) into build-fuzz, and runs each for a bounded time starting
# from its seed corpus in tests/fuzz/corpus/<target>/. A crash, a sanitizer report, a leak,
# an input that runs longer than 10 s or a memory blow-up fails the run; the input that did
# it is left in build-fuzz/artifacts/.
#   scripts/fuzz.sh [TARGET...]      FUZZ_SECONDS per target (default 60), JOBS for the build
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --fuzz
seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-$(nproc)}
targets=("$@")
((${#targets[@]})) || targets=(fuzz_model fuzz_safetensors fuzz_npy fuzz_csv fuzz_arch_json fuzz_npz fuzz_onnx)

flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
# XNNPACK (uninstrumented, from Debian) is left out: the targets test our code.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMMOE_BUILD_FUZZERS=ON \
  -DMMOE_BUILD_TESTS=OFF -DMMOE_BUILD_BENCH=OFF -DMMOE_WITH_XNNPACK=OFF \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" > build-fuzz.log 2>&1 || { cat build-fuzz.log; exit 1; }
cmake --build build-fuzz -j "$jobs" --target "${targets[@]}" >> build-fuzz.log 2>&1 ||
  { tail -50 build-fuzz.log; exit 1; }
rm -f build-fuzz.log

# Extra seeds beyond each target's own corpus: the repository's real files of that kind
# (not the 172 KB seed weights: above -max_len, and tests/fuzz/corpus has their layout).
extra_seeds() {
  case $1 in
    fuzz_model) echo tests/data/seed.mmoe tests/data/esmm.mmoe tests/data/activation_mmoe.mmoe tests/data/ple.mmoe \
                     tests/data/deepctr_ple_onnx.mmoe tests/data/gaussian_seed.mmoe ;;
    fuzz_npy) echo tests/data/seed_scores.npy ;;
    fuzz_csv) echo tests/data/seed_rows.csv tests/data/bad_width.csv tests/data/nan_value.csv ;;
    fuzz_arch_json) echo examples/seed/seed_mmoe.arch.json examples/families/esmm.arch.json ;;
    fuzz_npz) echo tests/data/sparse_inputs.npz tests/data/sparse_inputs_compressed.npz \
                   tests/data/sparse_inputs.csv ;;
    fuzz_onnx) echo tests/data/onnx/deepctr_mmoe.onnx tests/data/onnx/rechub_mmoe.onnx tests/data/onnx/deepctr_esmm.onnx \
                    tests/data/onnx/plain_embeddings.onnx tests/data/onnx/dense_mmoe.onnx tests/data/onnx/refused_cos.onnx \
                    tests/data/onnx/families_activation_mmoe.onnx ;;
  esac
}

mkdir -p build-fuzz/artifacts
for target in "${targets[@]}"; do
  # The working corpus starts from the seeds; what a run finds is kept for the next local run.
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/"$target"/* $(extra_seeds "$target") "$corpus"/
  # A dictionary where the input is text with keywords (tests/fuzz/dict/).
  dict=()
  case $target in
    fuzz_arch_json | fuzz_safetensors) dict=(-dict=tests/fuzz/dict/json.dict) ;;
  esac
  log=build-fuzz/$target.log
  echo "fuzz: $target for ${seconds} s"
  status=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build-fuzz/tests/fuzz/"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$target"- "${dict[@]}" "$corpus" \
    > "$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  if ((status != 0)); then
    tail -60 "$log"
    echo "fuzz: $target FAILED after $runs executions (exit $status); input in build-fuzz/artifacts/" >&2
    exit 1
  fi
  echo "fuzz: $target ok, $runs executions, corpus $(ls "$corpus" | wc -l) inputs"
done
