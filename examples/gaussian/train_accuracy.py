#!/usr/bin/python3
"""Train the two Gaussian-input models the accuracy work is measured on, and export them.

Both are trained on the MMoE paper's synthetic generator with x ~ N(0, I) (Ma et al., KDD 2018,
section 3.2; examples/seed/train_seed.py's make_data), labels at the training median with 10 %
flipped, BCE on every task, Adam 1e-3, batch 128, fixed seeds:

* ``gaussian_seed``: the seed's architecture and training as the seed trains it (40,000 rows,
  12 epochs): 4 experts 100-64-32-16, gates 100-16-8-4, towers 16-32-16-1, two tasks.
* ``gaussian_6x3``: 6 experts 100-50-20-12, gates with one hidden layer of 9, towers 12-24-1,
  three tasks whose weight vectors have pairwise correlation 0.8 (20,000 rows, 8 epochs).

Outputs, per model, into this script's directory (or --out-dir):
  <model>.safetensors, <model>.arch.json
  <model>_calib.npy   float32 [1000, 100]  the first 1000 training rows
  <model>_eval.npy    float32 [2000, 100]  held-out rows
  <model>_eval_labels.npy, <model>_eval_torch.npy  their labels and PyTorch's probabilities

Regenerate with:  /usr/bin/python3 examples/gaussian/train_accuracy.py
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "seed"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "converter", "python"))
import mmoe_export  # noqa: E402
from train_seed import (INPUT_DIM, LABEL_NOISE, N_CALIB, N_EVAL, TASK_NAMES, build_seed_model,  # noqa: E402
                        make_data, save_npy, train_mmoe)


def make_tasks(rng, n, tasks, d=INPUT_DIM, p=0.8, m=10):
    """make_data's generator for any number of tasks: w_1 = u_1, w_t = p u_1 + sqrt(1 - p^2) u_t."""
    q, _ = np.linalg.qr(rng.standard_normal((d, tasks)))
    ws = [q[:, 0]] + [p * q[:, 0] + np.sqrt(1.0 - p * p) * q[:, t] for t in range(1, tasks)]
    alpha, beta = rng.standard_normal(m), rng.standard_normal(m)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = np.empty((n, tasks))
    for t, w in enumerate(ws):
        s = x.astype(np.float64) @ w
        y[:, t] = s + np.sin(np.outer(s, alpha) + beta).sum(axis=1) + rng.normal(0.0, 0.1, size=n)
    return x, y


class Mmoe(nn.Module):
    """An MMoE as users write it: experts and towers nn.Sequential MLPs, gates with a hidden layer."""

    def __init__(self, input_dim, n_expert, expert_dims, gate_hidden, tower_hidden, n_task):
        super().__init__()

        def mlp(dims):
            layers = []
            for a, b in zip(dims, dims[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            return nn.Sequential(*layers)

        self.experts = nn.ModuleList(mlp([input_dim] + list(expert_dims)) for _ in range(n_expert))
        self.gates = nn.ModuleList(
            nn.Sequential(nn.Linear(input_dim, gate_hidden), nn.ReLU(), nn.Linear(gate_hidden, n_expert),
                          nn.Softmax(dim=1)) for _ in range(n_task))
        self.towers = nn.ModuleList(
            nn.Sequential(nn.Linear(expert_dims[-1], tower_hidden), nn.ReLU(), nn.Linear(tower_hidden, 1),
                          nn.Sigmoid()) for _ in range(n_task))

    def forward(self, x):
        experts = torch.stack([e(x) for e in self.experts], 1)  # [N, E, D]
        outs = []
        for gate, tower in zip(self.gates, self.towers):
            mixed = torch.matmul(gate(x).unsqueeze(1), experts).squeeze(1)
            outs.append(tower(mixed))
        return outs


def labels_from(rng, y, n_train):
    median = np.median(y[:n_train], axis=0)
    lab = (y > median).astype(np.float32)
    flip = rng.random(lab.shape) < LABEL_NOISE
    lab[flip] = 1.0 - lab[flip]
    return lab[:n_train], lab[n_train:]


def write(out, name, x_train, x_eval, lab_eval, probs, export):
    prefix = os.path.join(out, name)
    export(prefix)
    save_npy(prefix + "_calib.npy", x_train[:N_CALIB])
    save_npy(prefix + "_eval.npy", x_eval)
    save_npy(prefix + "_eval_labels.npy", lab_eval)
    save_npy(prefix + "_eval_torch.npy", probs)
    print("wrote %s.{safetensors,arch.json} and %s_{calib,eval,eval_labels,eval_torch}.npy" % (prefix, prefix))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--only", choices=["gaussian_seed", "gaussian_6x3"])
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out_dir, exist_ok=True)

    if args.only in (None, "gaussian_seed"):
        seed, n_train = 20261207, 40000
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        x, y = make_data(rng, n_train + N_EVAL, gaussian=True)
        lab_train, lab_eval = labels_from(rng, y, n_train)
        model = build_seed_model()
        probs = train_mmoe(model, x[:n_train], lab_train, x[n_train:], lab_eval, 12, rng)
        write(args.out_dir, "gaussian_seed", x[:n_train], x[n_train:], lab_eval, probs,
              lambda p: mmoe_export.export_mmoe(model, p, task_names=TASK_NAMES, name="gaussian_seed"))

    if args.only in (None, "gaussian_6x3"):
        seed, n_train = 20261208, 20000
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        x, y = make_tasks(rng, n_train + N_EVAL, 3)
        lab_train, lab_eval = labels_from(rng, y, n_train)
        model = Mmoe(INPUT_DIM, 6, (50, 20, 12), 9, 24, 3)
        probs = train_mmoe(model, x[:n_train], lab_train, x[n_train:], lab_eval, 8, rng)
        names = ["like", "share", "follow"]
        example = torch.from_numpy(x[:512])
        write(args.out_dir, "gaussian_6x3", x[:n_train], x[n_train:], lab_eval, probs,
              lambda p: mmoe_export.export(model, example, p, task_names=names, name="gaussian_6x3"))


if __name__ == "__main__":
    main()
