#!/usr/bin/env bash
# Builds and runs the tests under sanitizers, each configuration in its own build directory:
#   build-asan  AddressSanitizer + UndefinedBehaviorSanitizer (GCC), the whole ctest suite
#   build-tsan  ThreadSanitizer (GCC), the thread test (tests/threads/)
# Any report fails the run: UBSan does not recover, ASan and TSan stop at the first error.
#   scripts/test-sanitizers.sh [asan|tsan]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=${JOBS:-$(nproc)}
configs=("$@")
((${#configs[@]})) || configs=(asan tsan)

# -O1 keeps the instrumented suite fast enough; frame pointers give whole stack traces.
# The benchmarks time code rather than test it, so they are left out.
common=(-G Ninja -DCMAKE_BUILD_TYPE=Debug -DMMOE_BUILD_BENCH=OFF)
base_flags="-O1 -g -fno-omit-frame-pointer"

build() {  # DIR FLAGS [cmake args] -- [targets]
  local dir=$1 flags=$2
  shift 2
  local args=() targets=()
  while (($#)) && [[ $1 != -- ]]; do args+=("$1"); shift; done
  (($#)) && shift
  targets=("$@")
  cmake -S . -B "$dir" "${common[@]}" "${args[@]}" -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" > "$dir.log" 2>&1 ||
    { cat "$dir.log"; exit 1; }
  local target_args=()
  for t in "${targets[@]}"; do target_args+=(--target "$t"); done
  cmake --build "$dir" -j "$jobs" "${target_args[@]}" >> "$dir.log" 2>&1 || { tail -50 "$dir.log"; exit 1; }
  rm -f "$dir.log"
}

for config in "${configs[@]}"; do
  case $config in
    asan)
      build build-asan "$base_flags -fsanitize=address,undefined -fno-sanitize-recover=all"
      # install.consumer links the installed (instrumented) static runtime into an app built
      # without the sanitizers, which cannot link: it is a packaging test, run by test.sh.
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$jobs" -E '^install\.consumer$'
      ;;
    tsan)
      # XNNPACK and pthreadpool come uninstrumented from Debian, so TSan could not see their
      # synchronisation; this build leaves the xnnpack backend out.
      build build-tsan "$base_flags -fsanitize=thread" -DMMOE_WITH_XNNPACK=OFF -- mmoe_thread_tests
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --test-dir build-tsan --output-on-failure -j "$jobs" -R '^threads:'
      ;;
    *)
      echo "test-sanitizers: unknown configuration '$config' (asan, tsan)" >&2
      exit 2
      ;;
  esac
done
