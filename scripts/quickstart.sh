#!/usr/bin/env bash
# The whole job on the shipped example: install, build, convert the trained seed MMoE to
# model.mmoe, print its structure, score the evaluation rows and compare with PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=examples/seed

echo "== set-up"
scripts/setup.sh
echo "== build"
scripts/build.sh
mmoe=build/cli/mmoe

echo "== convert: $seed/seed_mmoe.safetensors -> model.mmoe"
$mmoe convert --weights $seed/seed_mmoe.safetensors --arch $seed/seed_mmoe.arch.json \
  --calib $seed/calib.npy -o model.mmoe
echo
echo "== inspect model.mmoe"
$mmoe inspect model.mmoe
echo
echo "== score $seed/eval.npy -> scores.csv (int8 next to PyTorch's float32 scores)"
$mmoe score model.mmoe --input $seed/eval.npy --output scores.csv --compare $seed/eval_torch.npy --head 8
echo
echo "== eval: int8 against the float weights on the held-out rows -> report.html"
$mmoe eval model.mmoe --weights $seed/seed_mmoe.safetensors --arch $seed/seed_mmoe.arch.json \
  --input $seed/eval.npy --labels $seed/eval_labels.npy --report report.html
