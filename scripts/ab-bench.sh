#!/usr/bin/env bash
# Compares two builds of the `mmoe` tool on one model by alternating them, so that the
# machine's drift falls on both alike:
#   scripts/ab-bench.sh A/mmoe B/mmoe [--model M.mmoe] [--batch N] [--rounds R] [--backend B] [--isa I]
# Each round runs `mmoe bench` once with A, then once with B, pinned to CPU 0 (20,000 calls
# at batch 1, 2,000 otherwise); prints every round's p50 and, per binary, the median of the
# rounds' p50s in microseconds. The figures in docs/performance.md's change table come from it.
set -euo pipefail
usage() {
  echo "usage: $0 A/mmoe B/mmoe [--model M.mmoe] [--batch N] [--rounds R] [--backend B] [--isa I]" >&2
  exit 2
}
(($# >= 2)) || usage
a=$1 b=$2
shift 2
model="$(dirname "$0")/../tests/data/seed.mmoe" batch=256 rounds=7 backend=simd isa=
while (($#)); do
  case $1 in
    --model) model=$2 ;;
    --batch) batch=$2 ;;
    --rounds) rounds=$2 ;;
    --backend) backend=$2 ;;
    --isa) isa=$2 ;;
    *) usage ;;
  esac
  (($# >= 2)) || usage
  shift 2
done
for bin in "$a" "$b"; do
  [[ -x $bin ]] || { echo "ab-bench: $bin is not an executable" >&2; exit 2; }
done
runs=$((batch == 1 ? 20000 : 2000))
p50() {
  taskset -c 0 "$1" bench "$model" --backend "$backend" ${isa:+--isa "$isa"} --batch "$batch" --runs "$runs" --warmup 200 --json |
    sed -n 's/.*"p50_us":\([0-9.]*\).*/\1/p'
}
declare -a pa pb
for ((i = 1; i <= rounds; ++i)); do
  pa+=("$(p50 "$a")")
  pb+=("$(p50 "$b")")
  echo "round $i: A ${pa[-1]} us, B ${pb[-1]} us"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
ma=$(median "${pa[@]}") mb=$(median "${pb[@]}")
awk -v a="$ma" -v b="$mb" -v n="$batch" \
  'BEGIN {printf "batch %d, median p50: A %.3f us, B %.3f us, B/A %.3f (%+.1f%%)\n", n, a, b, b / a, 100 * (b / a - 1)}'
