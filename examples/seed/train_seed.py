#!/usr/bin/python3
"""Train the seed MMoE model on synthetic two-task data and export it for mmoe-edge.

The model is the article's ``MMoEModel`` unchanged: 100 binary inputs, 4 experts
(100-64-32-16, ReLU), one gate per task (100-16-8-4, softmax) and one tower per task
(16-32-16-1, sigmoid). Task 1 is "interaction" (互动), task 2 is "click" (点击).

Data: the synthetic generator of the MMoE paper (Ma et al., "Modeling Task Relationships in
Multi-task Learning with Multi-gate Mixture-of-Experts", KDD 2018, section 3.2), adapted to the
seed's binary inputs:

  * u1, u2: random orthogonal unit vectors in R^d (d = 100);
  * w1 = c*u1,  w2 = c*(p*u1 + sqrt(1 - p^2)*u2), task correlation p = 0.8, c = 1;
  * x in {0,1}^d (the model input, as torch.randint(0, 2, (N, 100)) in the seed) and
    z = 2x - 1 in {-1,+1}^d, so that w_t.z has mean 0 and variance c^2 (roughly N(0, c^2));
  * y_t = w_t.z + sum_{i=1..m} sin(alpha_i * w_t.z + beta_i) + eps, m = 10,
    alpha_i, beta_i ~ N(0, 1) (shared by both tasks, as in the paper), eps ~ N(0, 0.01);
  * label_t = 1 if y_t > median(y_t over the training set) else 0 (a balanced click-like label),
    then 10% of the labels flipped at random (label noise, as real clicks have).

Training: BCELoss on both tasks (summed), Adam lr 1e-3, batch 128, CPU, 2 threads, fixed seeds.
Run time is well under a minute on 2 cores.

Outputs (into this script's directory unless --out-dir is given):
  seed_mmoe.safetensors, seed_mmoe.arch.json  the trained weights + architecture (mmoe_export)
  calib.npy          float32 [1000, 100]  calibration inputs (rows of the training set)
  eval.npy           float32 [2000, 100]  held-out inputs (never trained on)
  eval_labels.npy    float32 [2000, 2]    their binary labels, columns in task order
  eval_torch.npy     float32 [2000, 2]    PyTorch's sigmoid outputs on eval.npy (eval mode)
  eval_torch_logits.npy float32 [2000, 2] the pre-sigmoid tower outputs on eval.npy

Regenerate with:  /usr/bin/python3 examples/seed/train_seed.py
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "converter", "python"))
import mmoe_export  # noqa: E402  (needs the sys.path entry above)

SEED = 20240607
INPUT_DIM = 100
N_TRAIN = 40000
N_EVAL = 2000
N_CALIB = 1000
LABEL_NOISE = 0.1  # fraction of labels flipped, independently per task
TASK_NAMES = ["interaction", "click"]  # 互动, 点击


class MMoEModel(nn.Module):
    """The seed model, exactly as in the article (only reformatted)."""

    def __init__(self, input_dim, experts_hidden1_dim, experts_hidden2_dim, output_experts_dim,
                 task_hidden1_dim, task_hidden2_dim, output_task1_dim, output_task2_dim,
                 gate_hidden1_dim, gate_hidden2_dim, num_experts):
        super(MMoEModel, self).__init__()
        self.num_experts = num_experts
        self.output_experts_dim = output_experts_dim
        self.experts = nn.ModuleList([nn.Sequential(
            nn.Linear(input_dim, experts_hidden1_dim), nn.ReLU(),
            nn.Linear(experts_hidden1_dim, experts_hidden2_dim), nn.ReLU(),
            nn.Linear(experts_hidden2_dim, output_experts_dim), nn.ReLU())
            for _ in range(num_experts)])
        self.task1_head = nn.Sequential(
            nn.Linear(output_experts_dim, task_hidden1_dim), nn.ReLU(),
            nn.Linear(task_hidden1_dim, task_hidden2_dim), nn.ReLU(),
            nn.Linear(task_hidden2_dim, output_task1_dim), nn.Sigmoid())
        self.task2_head = nn.Sequential(
            nn.Linear(output_experts_dim, task_hidden1_dim), nn.ReLU(),
            nn.Linear(task_hidden1_dim, task_hidden2_dim), nn.ReLU(),
            nn.Linear(task_hidden2_dim, output_task2_dim), nn.Sigmoid())
        self.gating1_network = nn.Sequential(
            nn.Linear(input_dim, gate_hidden1_dim), nn.ReLU(),
            nn.Linear(gate_hidden1_dim, gate_hidden2_dim), nn.ReLU(),
            nn.Linear(gate_hidden2_dim, num_experts), nn.Softmax(dim=1))
        self.gating2_network = nn.Sequential(
            nn.Linear(input_dim, gate_hidden1_dim), nn.ReLU(),
            nn.Linear(gate_hidden1_dim, gate_hidden2_dim), nn.ReLU(),
            nn.Linear(gate_hidden2_dim, num_experts), nn.Softmax(dim=1))

    def forward(self, x):
        gates1 = self.gating1_network(x)
        gates2 = self.gating2_network(x)
        batch_size, _ = x.shape
        task1_inputs = torch.zeros(batch_size, self.output_experts_dim)
        task2_inputs = torch.zeros(batch_size, self.output_experts_dim)
        for i in range(self.num_experts):
            expert_output = self.experts[i](x)
            task1_inputs += expert_output * gates1[:, i].unsqueeze(1)
            task2_inputs += expert_output * gates2[:, i].unsqueeze(1)
        task1_outputs = self.task1_head(task1_inputs)
        task2_outputs = self.task2_head(task2_inputs)
        return task1_outputs, task2_outputs


def build_seed_model():
    """The article's hyper-parameters: experts 64/32/16, gates 16/8, towers 32/16, 4 experts."""
    return MMoEModel(input_dim=INPUT_DIM, experts_hidden1_dim=64, experts_hidden2_dim=32,
                     output_experts_dim=16, task_hidden1_dim=32, task_hidden2_dim=16,
                     output_task1_dim=1, output_task2_dim=1, gate_hidden1_dim=16,
                     gate_hidden2_dim=8, num_experts=4)


def tower_logits(model, x):
    """The towers' pre-sigmoid outputs: the article's forward() minus the final Sigmoid.

    Recomputed step by step with the same modules, so it matches forward() up to the sigmoid.
    """
    gates = [model.gating1_network(x), model.gating2_network(x)]
    mixed = [torch.zeros(x.shape[0], model.output_experts_dim) for _ in gates]
    for i in range(model.num_experts):
        expert_output = model.experts[i](x)
        for t, g in enumerate(gates):
            mixed[t] += expert_output * g[:, i].unsqueeze(1)
    heads = [model.task1_head, model.task2_head]
    return [head[:-1](m) for head, m in zip(heads, mixed)]  # head[:-1] drops the Sigmoid


def make_data(rng, n, d=INPUT_DIM, p=0.8, c=1.0, m=10, gaussian=False):
    """The MMoE paper's synthetic two-task regression data, on binary inputs.

    Returns x (float32 [n, d] in {0,1}) and y (float64 [n, 2], the continuous targets).
    With gaussian=True, x ~ N(0, I) as in the paper itself (examples/gaussian) and z = x.
    """
    # Two random orthogonal unit vectors: QR of a Gaussian d x 2 matrix.
    q, _ = np.linalg.qr(rng.standard_normal((d, 2)))
    u1, u2 = q[:, 0], q[:, 1]
    w1 = c * u1
    w2 = c * (p * u1 + np.sqrt(1.0 - p * p) * u2)  # cos(w1, w2) = p: the task correlation
    alpha = rng.standard_normal(m)
    beta = rng.standard_normal(m)

    if gaussian:
        x = rng.standard_normal((n, d)).astype(np.float32)
        z = x.astype(np.float64)
    else:
        x = rng.integers(0, 2, size=(n, d)).astype(np.float32)
        z = 2.0 * x.astype(np.float64) - 1.0  # centred +-1: w.z ~ N(0, c^2) since |w| = c
    y = np.empty((n, 2))
    for t, w in enumerate((w1, w2)):
        s = z @ w
        y[:, t] = (s + np.sin(np.outer(s, alpha) + beta).sum(axis=1)
                   + rng.normal(0.0, 0.1, size=n))  # eps ~ N(0, 0.01): std 0.1
    return x, y


def auc(labels, scores):
    """ROC AUC via the Mann-Whitney U statistic, with average ranks for tied scores."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    i = 0
    while i < len(scores):  # assign each run of equal scores its average rank (1-based)
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    n_pos = labels.sum()
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def train_mmoe(model, x_train, lab_train, x_eval, lab_eval, epochs, rng, batch=128):
    """BCE on every task (summed), Adam lr 1e-3, numpy-driven shuffles; prints the held-out AUC
    per epoch. Returns the eval-mode probabilities on x_eval, [N, tasks]. (The examples other
    than the seed train with this; train_seed.py keeps its own loop, which also prints losses.)"""
    criterion = nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, lt, xe = torch.from_numpy(x_train), torch.from_numpy(lab_train), torch.from_numpy(x_eval)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(x_train)))
        for start in range(0, len(x_train), batch):
            idx = order[start:start + batch]
            outs = model(xt[idx])
            loss = sum(criterion(o.squeeze(1), lt[idx, t]) for t, o in enumerate(outs))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            probs = torch.cat(model(xe), dim=1).numpy()
        print("epoch %2d  held-out AUC %s  [%.1fs]" % (
            epoch + 1, " / ".join("%.4f" % auc(lab_eval[:, t], probs[:, t]) for t in range(probs.shape[1])),
            time.time() - t0))
    return probs


def save_npy(path, array):
    """np.save as C-ordered little-endian float32 ('<f4'), the layout the C++ side reads."""
    np.save(path, np.ascontiguousarray(array, dtype="<f4"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=HERE, help="where to write the artifacts (default: %(default)s)")
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args()

    # Determinism: fixed seeds, a fixed thread count (the reduction order of a CPU matmul can
    # depend on it) and deterministic-algorithm mode, which errors out instead of silently
    # using a nondeterministic kernel.
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)

    # One draw, then a fixed split by index: rows [0, N_TRAIN) train, the last N_EVAL evaluate.
    x_all, y_all = make_data(rng, N_TRAIN + N_EVAL)
    x_train, y_train = x_all[:N_TRAIN], y_all[:N_TRAIN]
    x_eval, y_eval = x_all[N_TRAIN:], y_all[N_TRAIN:]
    # Binarise at the training-set median: balanced labels, and the eval set uses the same cut.
    median = np.median(y_train, axis=0)
    lab_train = (y_train > median).astype(np.float32)
    lab_eval = (y_eval > median).astype(np.float32)
    # A little label noise, like real clicks: without it the labels are an almost exact function
    # of x, the model saturates (probabilities ~0 or ~1) and test AUC sits near 1.0, which makes
    # a poor reference for judging int8 accuracy. Flipping LABEL_NOISE of the labels keeps the
    # probabilities in a realistic range. The eval labels are flipped the same way (observed
    # labels, not the noiseless truth).
    for lab in (lab_train, lab_eval):
        flip = rng.random(lab.shape) < LABEL_NOISE
        lab[flip] = 1.0 - lab[flip]
    print("train rows %d, eval rows %d, positive rate train %s eval %s"
          % (N_TRAIN, N_EVAL, lab_train.mean(axis=0).round(3), lab_eval.mean(axis=0).round(3)))

    model = build_seed_model()
    print(model)

    criterion = nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt = torch.from_numpy(x_train)
    lt = torch.from_numpy(lab_train)
    xe = torch.from_numpy(x_eval)
    batch = 128
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(N_TRAIN))  # numpy-driven shuffle: reproducible
        total = [0.0, 0.0]
        for start in range(0, N_TRAIN, batch):
            idx = perm[start:start + batch]
            xb, lb = xt[idx], lt[idx]
            out1, out2 = model(xb)
            loss1 = criterion(out1.squeeze(1), lb[:, 0])
            loss2 = criterion(out2.squeeze(1), lb[:, 1])
            loss = loss1 + loss2
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total[0] += loss1.item() * len(idx)
            total[1] += loss2.item() * len(idx)
        model.eval()
        with torch.no_grad():
            p1, p2 = model(xe)
        print("epoch %2d  loss %.4f (interaction %.4f, click %.4f)  eval AUC %.4f / %.4f  [%.1fs]"
              % (epoch + 1, (total[0] + total[1]) / N_TRAIN, total[0] / N_TRAIN, total[1] / N_TRAIN,
                 auc(lab_eval[:, 0], p1.numpy()[:, 0]), auc(lab_eval[:, 1], p2.numpy()[:, 0]),
                 time.time() - t0))

    model.eval()
    with torch.no_grad():
        probs = torch.cat(model(xe), dim=1).numpy()           # [N_EVAL, 2], task order
        logits = torch.cat(tower_logits(model, xe), dim=1).numpy()
    # Sanity: the logits are exactly what the Sigmoid received.
    assert np.array_equal(torch.sigmoid(torch.from_numpy(logits)).numpy(), probs)
    for t, task in enumerate(TASK_NAMES):
        print("final test AUC task %d (%s): %.4f" % (t + 1, task, auc(lab_eval[:, t], probs[:, t])))

    out = args.out_dir
    os.makedirs(out, exist_ok=True)
    mmoe_export.export_mmoe(model, os.path.join(out, "seed_mmoe"), task_names=TASK_NAMES,
                            feature_names=["f%d" % i for i in range(INPUT_DIM)], name="seed_mmoe")
    # Calibration rows come from the training distribution (the first N_CALIB training rows).
    save_npy(os.path.join(out, "calib.npy"), x_train[:N_CALIB])
    save_npy(os.path.join(out, "eval.npy"), x_eval)
    save_npy(os.path.join(out, "eval_labels.npy"), lab_eval)
    save_npy(os.path.join(out, "eval_torch.npy"), probs)
    save_npy(os.path.join(out, "eval_torch_logits.npy"), logits)
    print("wrote seed_mmoe.safetensors, seed_mmoe.arch.json, calib.npy, eval.npy, "
          "eval_labels.npy, eval_torch.npy, eval_torch_logits.npy to %s" % out)


if __name__ == "__main__":
    main()
