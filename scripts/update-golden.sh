#!/usr/bin/env bash
# Regenerates the cross-platform golden files (run on x86-64, after a deliberate change of the
# numerics or of the converter): tests/data/seed.mmoe, the shipped seed model converted here,
# and tests/data/seed_scores.npy, its reference-backend scores of examples/seed/eval.npy.
# tests/test_golden.cpp checks that every backend on every platform (x86, and ARM under qemu)
# scores those bytes exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
mmoe=${MMOE:-build/cli/mmoe}
seed=examples/seed
$mmoe convert --weights $seed/seed_mmoe.safetensors --arch $seed/seed_mmoe.arch.json \
  --calib $seed/calib.npy -o tests/data/seed.mmoe > /dev/null
$mmoe score tests/data/seed.mmoe --backend reference --input $seed/eval.npy --output tests/data/seed_scores.npy
