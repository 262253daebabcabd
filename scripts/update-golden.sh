#!/usr/bin/env bash
# Regenerates the cross-platform golden files (run on x86-64, after a deliberate change of the
# numerics or of the converter): for each model of examples/families (PLE, an MMoE with GELU,
# LeakyReLU, Tanh and SiLU layers and a regression task, ESMM), tests/data/<model>.mmoe, converted
# here, and tests/data/<model>_scores.npy, its reference-backend scores of examples/census/eval.npy.
# tests/test_golden.cpp checks that every backend on every platform (x86, and ARM under qemu)
# scores those bytes exactly. Also examples/sparse's DeepCTR-Torch PLE imported from ONNX
# (tests/data/deepctr_ple_onnx.mmoe, format 2.2: its inputs packed in one float row, X) and its
# scores of examples/sparse/eval_x.npz.
#
# tests/data/seed.mmoe and seed_scores.npy are not regenerated: they are the seed model as the
# format-1.1 converter wrote it and as the runtime of that time scored it, which every later
# runtime must still load and score the same.
set -euo pipefail
cd "$(dirname "$0")/.."
mmoe=${MMOE:-build/cli/mmoe}
for m in ple activation_mmoe esmm; do
  $mmoe convert --weights examples/families/$m.safetensors --arch examples/families/$m.arch.json \
    --calib examples/census/calib.npy -o tests/data/$m.mmoe > /dev/null
  $mmoe score tests/data/$m.mmoe --backend reference --input examples/census/eval.npy --output tests/data/${m}_scores.npy
done
$mmoe convert --onnx examples/sparse/deepctr_ple.onnx --task-names remote,salary --calib examples/sparse/calib_x.npz \
  -o tests/data/deepctr_ple_onnx.mmoe > /dev/null
$mmoe score tests/data/deepctr_ple_onnx.mmoe --backend reference --input examples/sparse/eval_x.npz \
  --output tests/data/deepctr_ple_onnx_scores.npy
