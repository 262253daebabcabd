#!/usr/bin/python3
"""Train the seed MMoE architecture on real survey data and export it for mmoe-edge.

Data: kernlab's ``income`` data set (Debian's r-cran-kernlab, data/income.rda): a marketing
survey of 8,993 San Francisco Bay Area residents, 14 categorical columns. Read with Debian's
python3-rdata. The two tasks follow the MMoE paper's Census-income experiment (Ma et al.,
KDD 2018, section 6.3):

  * task 1 "high_income": INCOME is one of the two top bands ($50,000 or more);
  * task 2 "never_married": MARITAL.STATUS is "Single" (never married).

INCOME and MARITAL.STATUS are removed from the inputs; rows whose MARITAL.STATUS is missing are
dropped (no label). The other 12 columns are one-hot encoded, a missing value being its own
category, in a fixed order (categories as R lists them, then "missing"): 0/1 inputs, one 1 per
column. Split: a fixed permutation (seed below), the first 80 % train, the rest test.

Model: the seed's MMoEModel (examples/seed/train_seed.py) with this data's input width: 4
experts 64-32-16, gates 16-8-4, towers 32-16-1.

Outputs (into this script's directory unless --out-dir is given):
  census_mmoe.safetensors, census_mmoe.arch.json  weights and architecture (mmoe_export)
  calib.npy        float32 [1000, D]  calibration inputs (the first 1000 training rows)
  eval.npy         float32 [N, D]     held-out inputs (the test split)
  eval_labels.npy  float32 [N, 2]     their 0/1 labels, columns in task order
  eval_torch.npy   float32 [N, 2]     PyTorch's sigmoid outputs on eval.npy (eval mode)
  features.txt     the D one-hot feature names, one a line

Regenerate with:  /usr/bin/python3 examples/census/train_census.py
"""

import argparse
import os
import sys

import numpy as np
import rdata
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "seed"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "converter", "python"))
import mmoe_export  # noqa: E402
from train_seed import MMoEModel, auc, save_npy, train_mmoe  # noqa: E402

INCOME_RDA = "/usr/lib/R/site-library/kernlab/data/income.rda"
SEED = 20261124
TRAIN_SHARE = 0.8
N_CALIB = 1000
TASK_NAMES = ["high_income", "never_married"]
HIGH_INCOME = {"[50.000-75.000)", "[75.000-"}


def load_income(path):
    """The data frame, as R stores it (categorical columns)."""
    return rdata.conversion.convert(rdata.parser.parse_file(path))["income"]


def build_problem(df):
    """Inputs (one-hot, float32), labels [N, 2] and feature names."""
    df = df[df["MARITAL.STATUS"].notna()].reset_index(drop=True)
    labels = np.stack([df["INCOME"].isin(HIGH_INCOME).to_numpy(),
                       (df["MARITAL.STATUS"] == "Single").to_numpy()], axis=1).astype(np.float32)
    blocks, names = [], []
    for col in df.columns:
        if col in ("INCOME", "MARITAL.STATUS"):
            continue
        values = df[col]
        for cat in list(values.cat.categories) + [None]:
            hit = values.isna() if cat is None else values == cat
            if cat is None and not hit.any():
                continue  # no "missing" column for a column without missing values
            blocks.append(hit.to_numpy())
            names.append("%s=%s" % (col, "missing" if cat is None else cat))
    x = np.stack(blocks, axis=1).astype(np.float32)
    assert np.all(x.sum(axis=1) == len(df.columns) - 2), "one 1 per input column"
    return x, labels, names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--epochs", type=int, default=10)  # test AUC peaks near epoch 10, then overfits
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)

    x, labels, names = build_problem(load_income(INCOME_RDA))
    perm = rng.permutation(len(x))
    n_train = int(round(TRAIN_SHARE * len(x)))
    tr, te = perm[:n_train], perm[n_train:]
    x_train, lab_train, x_eval, lab_eval = x[tr], labels[tr], x[te], labels[te]
    print("rows %d (train %d, test %d), %d one-hot inputs, positive rate train %s test %s"
          % (len(x), len(tr), len(te), x.shape[1], lab_train.mean(axis=0).round(3),
             lab_eval.mean(axis=0).round(3)))

    model = MMoEModel(input_dim=x.shape[1], experts_hidden1_dim=64, experts_hidden2_dim=32,
                      output_experts_dim=16, task_hidden1_dim=32, task_hidden2_dim=16,
                      output_task1_dim=1, output_task2_dim=1, gate_hidden1_dim=16,
                      gate_hidden2_dim=8, num_experts=4)
    probs = train_mmoe(model, x_train, lab_train, x_eval, lab_eval, args.epochs, rng)
    for t, task in enumerate(TASK_NAMES):
        print("final test AUC %s: %.4f" % (task, auc(lab_eval[:, t], probs[:, t])))

    out = args.out_dir
    os.makedirs(out, exist_ok=True)
    mmoe_export.export_mmoe(model, os.path.join(out, "census_mmoe"), task_names=TASK_NAMES,
                            feature_names=names, name="census_mmoe")
    save_npy(os.path.join(out, "calib.npy"), x_train[:N_CALIB])
    save_npy(os.path.join(out, "eval.npy"), x_eval)
    save_npy(os.path.join(out, "eval_labels.npy"), lab_eval)
    save_npy(os.path.join(out, "eval_torch.npy"), probs)
    with open(os.path.join(out, "features.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print("wrote census_mmoe.safetensors, census_mmoe.arch.json, calib.npy, eval.npy, "
          "eval_labels.npy, eval_torch.npy, features.txt to %s" % out)


if __name__ == "__main__":
    main()
