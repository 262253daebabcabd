#!/usr/bin/env bash
# Regenerates the cross-platform golden files (run on x86-64, after a deliberate change of the
# numerics or of the converter): for each model of examples/families (PLE, an MMoE with GELU,
# LeakyReLU, Tanh and SiLU layers and a regression task, ESMM), tests/data/<model>_scores.npy,
# the reference-backend scores of tests/data/<model>.mmoe on examples/census/eval.npy.
# tests/test_golden.cpp checks that every backend on every platform (x86, and ARM under qemu)
# scores those bytes exactly. Also examples/sparse's DeepCTR-Torch PLE imported from ONNX
# (tests/data/deepctr_ple_onnx.mmoe, format 2.2: its inputs packed in one float row, X) and its
# scores of examples/sparse/eval_x.npz. And examples/gaussian's gaussian_seed with its int16 input
# (tests/data/gaussian_seed.mmoe, format 2.3) and its scores of gaussian_seed_eval.npy.
#
# tests/data/seed.mmoe and seed_scores.npy are not regenerated: they are the seed model as the
# format-1.1 converter wrote it and as the runtime of that time scored it, which every later
# runtime must still load and score the same.
set -euo pipefail
cd "$(dirname "$0")/.."
mmoe=${MMOE:-build/cli/mmoe}
# The families' files stay as the format-2.0 converter wrote them (every later runtime must load
# them); only their scores are regenerated. MMOE_GOLDEN_RECONVERT=1 converts them again (the
# converter now writes format 2.1).
for m in ple activation_mmoe esmm; do
  if [[ ${MMOE_GOLDEN_RECONVERT:-0} == 1 ]]; then
    $mmoe convert --weights examples/families/$m.safetensors --arch examples/families/$m.arch.json \
      --calib examples/census/calib.npy -o tests/data/$m.mmoe > /dev/null
  fi
  $mmoe score tests/data/$m.mmoe --backend reference --input examples/census/eval.npy --output tests/data/${m}_scores.npy
done
$mmoe convert --onnx examples/sparse/deepctr_ple.onnx --task-names remote,salary --calib examples/sparse/calib_x.npz \
  -o tests/data/deepctr_ple_onnx.mmoe > /dev/null
$mmoe score tests/data/deepctr_ple_onnx.mmoe --backend reference --input examples/sparse/eval_x.npz \
  --output tests/data/deepctr_ple_onnx_scores.npy
$mmoe convert --weights examples/gaussian/gaussian_seed.safetensors --arch examples/gaussian/gaussian_seed.arch.json \
  --calib examples/gaussian/gaussian_seed_calib.npy -o tests/data/gaussian_seed.mmoe > /dev/null
$mmoe score tests/data/gaussian_seed.mmoe --backend reference --input examples/gaussian/gaussian_seed_eval.npy \
  --output tests/data/gaussian_seed_scores.npy
