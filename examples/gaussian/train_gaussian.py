#!/usr/bin/python3
"""Train the seed MMoE architecture on Gaussian (unbounded) inputs and export it for mmoe-edge.

The MMoE paper's synthetic generator as the paper states it (Ma et al., KDD 2018, section
3.2), with x ~ N(0, I) rather than the seed example's 0/1 inputs: the case where a single
input scale must cover rare large values, which percentile ranges are for. Everything else is
examples/seed/train_seed.py's: w1, w2 with task correlation 0.8, y_t = w_t.x + sum of sines +
noise, labels at the training median with 10 % flipped, the seed's MMoEModel (4 experts
64-32-16, gates 16-8-4, towers 32-16-1), BCE, Adam 1e-3, batch 128, fixed seeds.

Outputs (into this script's directory unless --out-dir is given):
  gaussian_mmoe.safetensors, gaussian_mmoe.arch.json
  calib.npy        float32 [1000, 100]  calibration inputs (the first 1000 training rows)
  eval.npy         float32 [2000, 100]  held-out inputs
  eval_labels.npy  float32 [2000, 2]
  eval_torch.npy   float32 [2000, 2]    PyTorch's sigmoid outputs on eval.npy

Regenerate with:  /usr/bin/python3 examples/gaussian/train_gaussian.py
"""

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "seed"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "converter", "python"))
import mmoe_export  # noqa: E402
from train_seed import LABEL_NOISE, TASK_NAMES, build_seed_model, make_data, save_npy, train_mmoe  # noqa: E402

SEED = 20261125
INPUT_DIM = 100
N_TRAIN = 20000
N_EVAL = 2000
N_CALIB = 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--epochs", type=int, default=3)  # held-out AUC peaks at epoch 3, then overfits
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)
    x_all, y_all = make_data(rng, N_TRAIN + N_EVAL, gaussian=True)
    x_train, x_eval = x_all[:N_TRAIN], x_all[N_TRAIN:]
    median = np.median(y_all[:N_TRAIN], axis=0)
    lab_train = (y_all[:N_TRAIN] > median).astype(np.float32)
    lab_eval = (y_all[N_TRAIN:] > median).astype(np.float32)
    for lab in (lab_train, lab_eval):
        flip = rng.random(lab.shape) < LABEL_NOISE
        lab[flip] = 1.0 - lab[flip]

    model = build_seed_model()
    probs = train_mmoe(model, x_train, lab_train, x_eval, lab_eval, args.epochs, rng)
    out = args.out_dir
    os.makedirs(out, exist_ok=True)
    mmoe_export.export_mmoe(model, os.path.join(out, "gaussian_mmoe"), task_names=TASK_NAMES,
                            name="gaussian_mmoe")
    save_npy(os.path.join(out, "calib.npy"), x_train[:N_CALIB])
    save_npy(os.path.join(out, "eval.npy"), x_eval)
    save_npy(os.path.join(out, "eval_labels.npy"), lab_eval)
    save_npy(os.path.join(out, "eval_torch.npy"), probs)
    print("wrote gaussian_mmoe.safetensors, gaussian_mmoe.arch.json, calib.npy, eval.npy, "
          "eval_labels.npy, eval_torch.npy to %s" % out)


if __name__ == "__main__":
    main()
