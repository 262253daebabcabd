"""Trains DeepCTR-Torch-style and torch-rechub-style MMoE and two-level PLE models on sparse
features of real data and exports them with mmoe_export.export.

Data: Stack Overflow's 2018 developer survey sample in Debian's r-cran-modeldata
(``stackoverflow``, 5,594 respondents), exported with Rscript. Per respondent:

* ids: ``country`` (5), ``company_size`` (9 sizes), ``open_source`` and ``hobby`` (yes/no);
* a bag: ``roles``, the developer roles the respondent ticked (13 kinds, 0 to 9 of them),
  padded with 0, pooled by mean (DeepCTR-Torch masks id 0; torch-rechub's
  ``SequenceFeature(padding_idx=0)`` does the same);
* dense: ``years`` (years coded on the job / 20) and ``satisfaction`` (career satisfaction / 10).

Two tasks: ``remote`` (works remotely, binary) and ``salary`` (log salary, standardised:
regression). 70% of the rows train, the other 30% are the held-out evaluation rows; the first
512 training rows calibrate.

Four models, built with the libraries' module trees (converter/python/replicas):
``deepctr_mmoe`` and ``deepctr_ple`` (DeepCTR-Torch 0.2.9 ``MMOE``/``PLE`` with
``dnn_use_bn=True``, reading one float X laid out by ``feature_index``), ``rechub_mmoe`` and
``rechub_ple`` (torch-rechub 0.8.0, reading a dict of tensors). Every model's export takes
the same inputs by name, so one calib.npz and one eval.npz serve all four.

Writes, next to this file: ``<model>.safetensors``, ``<model>.arch.json``, ``<model>.onnx``
(torch.onnx.export, opset 13 or 17), ``calib_x.npz`` and ``eval_x.npz`` (DeepCTR-Torch's X),
``<model>_eval_torch.npy`` (PyTorch's scores on eval.npz), ``calib.npz``, ``eval.npz`` and
``eval_labels.npy``. Needs /usr/bin/python3 with python3-torch and python3-numpy, and
Rscript with r-cran-modeldata (scripts/setup.sh --train).
"""

import csv
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "converter", "python"))

import mmoe_export  # noqa: E402
from replicas import deepctr_torch as dc  # noqa: E402
from replicas import torch_rechub as rh  # noqa: E402

ROLES = ["Data_scientist", "Database_administrator", "Desktop_applications_developer",
         "Developer_with_stats_math_background", "DevOps", "Embedded_developer", "Graphic_designer",
         "Graphics_programming", "Machine_learning_specialist", "Mobile_developer", "Quality_assurance_engineer",
         "Systems_administrator", "Web_developer"]


def load():
    """The survey as feature arrays and labels."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "so.csv")
        subprocess.run(["Rscript", "-e", "library(modeldata); data(stackoverflow); "
                        "write.csv(stackoverflow, '%s', row.names=FALSE)" % path], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(path) as f:
            rows = list(csv.DictReader(f))
    countries = sorted({r["Country"] for r in rows})
    sizes = sorted({float(r["CompanySizeNumber"]) for r in rows})
    n = len(rows)
    maxlen = max(sum(float(r[k]) > 0 for k in ROLES) for r in rows)
    roles = np.zeros((n, maxlen), dtype=np.int64)
    for i, r in enumerate(rows):
        ids = [j + 1 for j, k in enumerate(ROLES) if float(r[k]) > 0]
        roles[i, :len(ids)] = ids
    feats = {
        "country": np.array([countries.index(r["Country"]) + 1 for r in rows], dtype=np.int64),
        "company_size": np.array([sizes.index(float(r["CompanySizeNumber"])) + 1 for r in rows], dtype=np.int64),
        "open_source": np.array([int(float(r["OpenSource"])) + 1 for r in rows], dtype=np.int64),
        "hobby": np.array([int(float(r["Hobby"])) + 1 for r in rows], dtype=np.int64),
        "roles": roles,
        "years": np.array([float(r["YearsCodedJob"]) / 20.0 for r in rows], dtype=np.float32),
        "satisfaction": np.array([float(r["CareerSatisfaction"]) / 10.0 for r in rows], dtype=np.float32),
    }
    salary = np.log(np.array([float(r["Salary"]) for r in rows]))
    labels = np.stack([np.array([r["Remote"] == "Remote" for r in rows], dtype=np.float32),
                       ((salary - salary.mean()) / salary.std()).astype(np.float32)], axis=1)
    vocab = {"country": len(countries) + 1, "company_size": len(sizes) + 1, "open_source": 3, "hobby": 3,
             "roles": len(ROLES) + 1}
    return feats, labels, vocab, maxlen


def deepctr_columns(vocab, maxlen):
    return [dc.SparseFeat("country", vocab["country"], 4), dc.SparseFeat("company_size", vocab["company_size"], 4),
            dc.SparseFeat("open_source", vocab["open_source"], 2), dc.SparseFeat("hobby", vocab["hobby"], 2),
            dc.VarLenSparseFeat(dc.SparseFeat("roles", vocab["roles"], 8), maxlen=maxlen, combiner="mean"),
            dc.DenseFeat("years", 1), dc.DenseFeat("satisfaction", 1)]


def rechub_features(vocab):
    return [rh.SparseFeature("country", vocab["country"], 8), rh.SparseFeature("company_size", vocab["company_size"], 8),
            rh.SparseFeature("open_source", vocab["open_source"], 8), rh.SparseFeature("hobby", vocab["hobby"], 8),
            rh.SequenceFeature("roles", vocab["roles"], 8, pooling="mean", padding_idx=0),
            rh.DenseFeature("years"), rh.DenseFeature("satisfaction")]


def deepctr_x(model, feats, rows):
    """DeepCTR-Torch's X for rows, as its predict() builds it from a dict of features."""
    return np.concatenate([feats[name][rows].reshape(len(rows), -1).astype(np.float32)
                           for name in model.feature_index], axis=1)


def rechub_x(feats, rows):
    return {k: torch.as_tensor(v[rows]) for k, v in feats.items()}


def train(model, batch_of, labels, train_rows, rng, epochs=30, batch=256, lr=3e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    bce, mse = torch.nn.BCELoss(), torch.nn.MSELoss()
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(train_rows)
        total = 0.0
        for i in range(0, len(order) - 1, batch):
            rows = order[i:i + batch]
            if len(rows) < 2:
                continue
            y = torch.as_tensor(labels[rows])
            out = model(batch_of(rows))
            loss = bce(out[:, 0].clamp(1e-7, 1 - 1e-7), y[:, 0]) + mse(out[:, 1], y[:, 1])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(rows)
        if epoch % 10 == 9:
            print("  epoch %d: loss %.4f" % (epoch + 1, total / len(order)))
    model.eval()


# The ONNX graphs: opsets 13 and 17, each library's models one of each.
ONNX_OPSETS = {"deepctr_mmoe": 13, "deepctr_ple": 17, "rechub_mmoe": 17, "rechub_ple": 13}


def export_onnx(model, example, deepctr, path, opset):
    """torch.onnx.export as a user would call it: DeepCTR-Torch's graph takes its one float X,
    torch-rechub's a tensor per feature; the batch axis dynamic."""
    names = ["X"] if deepctr else list(example)
    args = (example,) if deepctr else (example, {})
    torch.onnx.export(model, args, path, opset_version=opset, input_names=names, output_names=["scores"],
                      dynamic_axes={n: {0: "N"} for n in names + ["scores"]})


def auc(y, p):
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y > 0.5
    return (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    feats, labels, vocab, maxlen = load()
    n = len(labels)
    perm = rng.permutation(n)
    train_rows, eval_rows = perm[:int(0.7 * n)], perm[int(0.7 * n):]
    calib_rows = train_rows[:512]
    print("stackoverflow: %d rows (%d train, %d eval), remote %.1f%%, roles bag of up to %d"
          % (n, len(train_rows), len(eval_rows), 100 * labels[:, 0].mean(), maxlen))

    models = {
        "deepctr_mmoe": dc.MMOE(deepctr_columns(vocab, maxlen), num_experts=4, expert_dnn_hidden_units=(32, 16),
                                gate_dnn_hidden_units=(8,), tower_dnn_hidden_units=(8,), dnn_use_bn=True,
                                dnn_dropout=0.1, init_std=0.05, task_types=("binary", "regression"),
                                task_names=("remote", "salary")),
        "deepctr_ple": dc.PLE(deepctr_columns(vocab, maxlen), shared_expert_num=1, specific_expert_num=2,
                              num_levels=2, expert_dnn_hidden_units=(32, 16), gate_dnn_hidden_units=(8,),
                              tower_dnn_hidden_units=(8,), dnn_use_bn=True, dnn_dropout=0.1, init_std=0.05,
                              task_types=("binary", "regression"), task_names=("remote", "salary")),
        "rechub_mmoe": rh.MMOE(rechub_features(vocab), ["classification", "regression"], 4,
                               {"dims": [32, 16], "dropout": 0.1}, [{"dims": [8]}, {"dims": [8]}]),
        "rechub_ple": rh.PLE(rechub_features(vocab), ["classification", "regression"], 2, 2, 1,
                             {"dims": [32, 16], "dropout": 0.1}, [{"dims": [8]}, {"dims": [8]}]),
    }
    shared_inputs = None
    for stem, model in models.items():
        deepctr = stem.startswith("deepctr")

        def batch_of(rows, model=model, deepctr=deepctr):
            return torch.as_tensor(deepctr_x(model, feats, rows)) if deepctr else rechub_x(feats, rows)

        print(stem)
        train(model, batch_of, labels, train_rows, rng)
        with torch.no_grad():
            scores = model(batch_of(eval_rows)).numpy()
        print("  eval: AUC %.4f, salary RMSE %.4f" % (auc(labels[eval_rows, 0], scores[:, 0]),
                                                      np.sqrt(np.mean((scores[:, 1] - labels[eval_rows, 1]) ** 2))))
        example = batch_of(calib_rows)
        mmoe_export.export(model, example, os.path.join(HERE, stem), task_names=["remote", "salary"])
        export_onnx(model, example, deepctr, os.path.join(HERE, stem + ".onnx"), ONNX_OPSETS[stem])
        np.save(os.path.join(HERE, stem + "_eval_torch.npy"), scores.astype(np.float32))
        inputs = (mmoe_export.inputs_for(model, batch_of(calib_rows)), mmoe_export.inputs_for(model, batch_of(eval_rows)))
        if shared_inputs is None:
            shared_inputs = inputs
        else:  # one calib.npz and eval.npz serve every model
            for a, b in zip(shared_inputs, inputs):
                assert sorted(a) == sorted(b) and all(np.array_equal(a[k].reshape(len(a[k]), -1),
                                                                     b[k].reshape(len(b[k]), -1)) for k in a)
    calib, evaluation = shared_inputs
    np.savez(os.path.join(HERE, "calib.npz"), **calib)
    np.savez(os.path.join(HERE, "eval.npz"), **evaluation)
    # DeepCTR-Torch's X for its ONNX graphs (one float row per item, columns by feature_index).
    deepctr_model = models["deepctr_mmoe"]
    np.savez(os.path.join(HERE, "calib_x.npz"), X=deepctr_x(deepctr_model, feats, calib_rows))
    np.savez(os.path.join(HERE, "eval_x.npz"), X=deepctr_x(deepctr_model, feats, eval_rows))
    np.save(os.path.join(HERE, "eval_labels.npy"), labels[eval_rows])


if __name__ == "__main__":
    main()
