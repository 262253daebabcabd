#!/usr/bin/python3
"""Train the three models of models.py on the census example's real survey data and export
each with one call to mmoe_export.export (tracing), for mmoe-edge's tests and quality checks.

Data: examples/census (kernlab's `income` survey, Debian's r-cran-kernlab, read with
python3-rdata): the same 78 one-hot inputs, rows and train/test split (so the census example's
calib.npy and eval.npy are these models' calibration and held-out rows too). Labels:

  * ple             high_income, never_married            (the census example's two tasks)
  * activation_mmoe high_income (binary), income_k (regression: the income band's midpoint in
                    thousands of dollars: 5, 12.5, 17.5, 22.5, 27.5, 35, 45, 62.5, 100)
  * esmm            ctr = ever married, ctcvr = ever married and high income (ESMM trains
                    pCTR on the first and pCTCVR = pCTR x pCVR on the second)

Training: Adam 1e-3, batch 128, 2 threads, fixed seeds; BCE for binary tasks, MSE for the
regression (on income_k / 50, the model then scaled back so that it predicts thousands).

Outputs (into this script's directory unless --out-dir is given), for each model M:
  M.safetensors, M.arch.json   the export (architecture JSON version 2)
  M_eval_labels.npy            float32 [N, tasks]: labels of ../census/eval.npy
  M_eval_torch.npy             float32 [N, tasks]: PyTorch's outputs on ../census/eval.npy

Regenerate with:  /usr/bin/python3 examples/families/train_families.py   (about 3 minutes)
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "census"))
sys.path.insert(0, os.path.join(HERE, "..", "seed"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "converter", "python"))
import mmoe_export  # noqa: E402
from models import ActivationMmoe, Esmm, Ple  # noqa: E402
from train_census import INCOME_RDA, SEED, TRAIN_SHARE, build_problem, load_income  # noqa: E402
from train_seed import auc, save_npy  # noqa: E402

INCOME_MIDPOINT_K = {"-10.000)": 5.0, "[10.000-15.000)": 12.5, "[15.000-20.000)": 17.5,
                     "[20.000-25.000)": 22.5, "[25.000-30.000)": 27.5, "[30.000-40.000)": 35.0,
                     "[40.000-50.000)": 45.0, "[50.000-75.000)": 62.5, "[75.000-": 100.0}
REGRESSION_SCALE = 50.0


def train(model, x, losses, epochs, rng, batch=128, lr=1e-3):
    """Minimise the sum of losses[t](output[:, t], target[:, t]) over the rows of x."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt = torch.from_numpy(x)
    for epoch in range(epochs):
        model.train()
        perm = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch):
            idx = torch.from_numpy(perm[start:start + batch])
            if len(idx) < 2:
                continue  # BatchNorm needs two rows
            out = model(xt[idx])
            loss = sum(fn(out, idx) for fn in losses)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        print("  epoch %d: loss %.4f" % (epoch + 1, total / len(x)))
    model.eval()


def predict(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy().astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)

    df = load_income(INCOME_RDA)
    x, census_labels, names = build_problem(df)
    kept = df[df["MARITAL.STATUS"].notna()].reset_index(drop=True)
    income_k = kept["INCOME"].map(INCOME_MIDPOINT_K).to_numpy(dtype=np.float32)
    perm = rng.permutation(len(x))  # the census example's split
    n_train = int(round(TRAIN_SHARE * len(x)))
    tr, te = perm[:n_train], perm[n_train:]
    high, single = census_labels[:, 0], census_labels[:, 1]
    married = 1.0 - single
    labels = {
        "ple": np.stack([high, single], axis=1),
        "activation_mmoe": np.stack([high, income_k], axis=1),
        "esmm": np.stack([married, married * high], axis=1),
    }
    tasks = {"ple": ["high_income", "never_married"], "activation_mmoe": ["high_income", "income_k"],
             "esmm": ["ctr", "ctcvr"]}
    bce, mse = nn.BCELoss(), nn.MSELoss()

    def target(name, t, idx):
        return torch.from_numpy(labels[name][tr][:, t])[idx]

    d = x.shape[1]
    models = {
        "ple": (Ple(d), [lambda o, i: bce(o[:, 0], target("ple", 0, i)),
                         lambda o, i: bce(o[:, 1], target("ple", 1, i))]),
        "activation_mmoe": (ActivationMmoe(d), [
            lambda o, i: bce(o[:, 0], target("activation_mmoe", 0, i)),
            lambda o, i: mse(o[:, 1] / REGRESSION_SCALE, target("activation_mmoe", 1, i) / REGRESSION_SCALE)]),
        "esmm": (Esmm(d), [lambda o, i: bce(o[:, 0], target("esmm", 0, i)),
                           lambda o, i: bce(o[:, 1], target("esmm", 1, i))]),
    }
    out = args.out_dir
    os.makedirs(out, exist_ok=True)
    for name, (model, losses) in models.items():
        print("training %s" % name)
        train(model, x[tr], losses, args.epochs, rng)
        pred = predict(model, x[te])
        y = labels[name][te]
        for t, task in enumerate(tasks[name]):
            if name == "activation_mmoe" and t == 1:
                rmse = float(np.sqrt(np.mean((pred[:, t] - y[:, t]) ** 2)))
                print("  test %s: RMSE %.3f (label stddev %.3f)" % (task, rmse, float(y[:, t].std())))
            else:
                print("  test AUC %s: %.4f" % (task, auc(y[:, t], pred[:, t])))
        mmoe_export.export(model, torch.from_numpy(x[tr][:512]), os.path.join(out, name), task_names=tasks[name],
                           feature_names=names, name=name)
        save_npy(os.path.join(out, name + "_eval_labels.npy"), y.astype(np.float32))
        save_npy(os.path.join(out, name + "_eval_torch.npy"), pred)
    print("wrote %s to %s" % (", ".join(models), out))


if __name__ == "__main__":
    main()
