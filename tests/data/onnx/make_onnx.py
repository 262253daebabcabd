#!/usr/bin/python3
"""Writes the ONNX graphs the importer's tests read (tests/test_onnx.cpp), with the inputs and
PyTorch's outputs beside each: DeepCTR-Torch's and torch-rechub's MMOE, PLE, SharedBottom and
ESMM (converter/python/replicas: their module trees), plain modules with nn.Embedding, a
dense-only MMoE and examples/families' PLE, activation MMoE (GELU, SiLU, ...) and ESMM, exported by torch.onnx.export at opsets 13 and 17 with the batch axis dynamic;
and graphs the importer must refuse (nn.EmbeddingBag, which exports as a Loop; an operator it
does not map).

Run: /usr/bin/python3 tests/data/onnx/make_onnx.py   (python3-torch; weights are random, seeded)
Writes <name>.onnx, <name>_inputs.npz (one array per graph input) and <name>_torch.npy.
"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "converter", "python"))
from replicas import deepctr_torch as dc  # noqa: E402
from replicas import torch_rechub as rh  # noqa: E402
import test_mmoe_export_sparse as sparse_tests  # noqa: E402  (its randomized weights and features)

N, MAXLEN = 48, 4


def randomized(model, seed=0):
    return sparse_tests.randomized(model, seed, scale=0.3)


def features(seed=1):
    return sparse_tests.features(seed, N, MAXLEN, roles_below=10)


def save(name, model, args, inputs, opset):
    """Exports model(*args); inputs: graph input name -> array (what the .npz holds)."""
    path = os.path.join(HERE, name + ".onnx")
    torch.onnx.export(model, args, path, opset_version=opset, input_names=list(inputs), output_names=["scores"],
                      dynamic_axes={n: {0: "N"} for n in list(inputs) + ["scores"]})
    call = args[:-1] if isinstance(args[-1], dict) and not args[-1] else args  # (x, {}): no kwargs
    with torch.no_grad():
        out = model(*call).float().numpy().reshape(N, -1)
    np.savez(os.path.join(HERE, name + "_inputs.npz"), **inputs)
    np.save(os.path.join(HERE, name + "_torch.npy"), out)


def main():
    torch.manual_seed(0)
    f = features()
    cols = [dc.SparseFeat("country", 6, 4), dc.SparseFeat("size", 9, 3),
            dc.VarLenSparseFeat(dc.SparseFeat("roles", 10, 5), maxlen=MAXLEN, combiner="mean"),
            dc.DenseFeat("years", 1), dc.DenseFeat("sat", 1)]
    cols_sum = cols[:2] + [dc.VarLenSparseFeat(dc.SparseFeat("roles", 10, 5), maxlen=MAXLEN, combiner="sum")] + cols[3:]
    deepctr = {
        "deepctr_mmoe": (dc.MMOE(cols, num_experts=3, expert_dnn_hidden_units=(10, 6), gate_dnn_hidden_units=(4,),
                                 tower_dnn_hidden_units=(4,), dnn_use_bn=True, task_types=("binary", "regression")), 13),
        "deepctr_ple": (dc.PLE(cols, shared_expert_num=1, specific_expert_num=2, num_levels=2,
                               expert_dnn_hidden_units=(10, 6), gate_dnn_hidden_units=(4,), tower_dnn_hidden_units=(4,),
                               dnn_use_bn=True, task_types=("binary", "binary")), 17),
        "deepctr_shared_bottom": (dc.SharedBottom(cols_sum, bottom_dnn_hidden_units=(10, 6), tower_dnn_hidden_units=(4,)), 13),
        "deepctr_esmm": (dc.ESMM(cols, tower_dnn_hidden_units=(10, 6), dnn_use_bn=True), 17),
    }
    for name, (model, opset) in deepctr.items():
        model = randomized(model)
        x = np.concatenate([np.asarray(f[n]).reshape(N, -1).astype(np.float32) for n in model.feature_index], axis=1)
        save(name, model, (torch.as_tensor(x),), {"X": x}, opset)

    feats = [rh.SparseFeature("country", 6, 4), rh.SparseFeature("size", 9, 4),
             rh.SequenceFeature("roles", 10, 4, pooling="mean", padding_idx=0),
             rh.DenseFeature("years"), rh.DenseFeature("sat")]
    feats_sum = feats[:2] + [rh.SequenceFeature("roles", 10, 4, pooling="sum", padding_idx=None)] + feats[3:]
    rechub = {
        "rechub_mmoe": (rh.MMOE(feats, ["classification", "regression"], 3, {"dims": [10, 6]}, [{"dims": [4]}] * 2), 17),
        "rechub_ple": (rh.PLE(feats_sum, ["classification", "classification"], 2, 2, 1, {"dims": [10, 6]},
                              [{"dims": [4]}] * 2), 13),
        "rechub_shared_bottom": (rh.SharedBottom(feats, ["classification", "regression"], {"dims": [8]},
                                                 [{"dims": [4]}] * 2), 17),
    }
    for name, (model, opset) in rechub.items():
        model = randomized(model)
        x = {k: torch.as_tensor(v) for k, v in f.items()}
        save(name, model, (x, {}), f, opset)
    user = [rh.SparseFeature("country", 6, 4), rh.SequenceFeature("roles", 10, 4, pooling="mean", padding_idx=0)]
    item = [rh.SparseFeature("size", 9, 4), rh.SparseFeature("size2", 9, 4, shared_with="size")]
    esmm = randomized(rh.ESMM(user, item, {"dims": [8]}, {"dims": [8]}))
    x = {k: f[k] for k in ("country", "roles", "size")}
    x["size2"] = f["size"][::-1].copy()
    save("rechub_esmm", esmm, ({k: torch.as_tensor(v) for k, v in x.items()}, {}), x, 13)

    class Plain(nn.Module):  # nn.Embedding, a bag summed with x.sum(1), dense floats, a softmax gate
        def __init__(self):
            super().__init__()
            self.country = nn.Embedding(6, 4)
            self.roles = nn.Embedding(10, 3)
            self.experts = nn.ModuleList(nn.Sequential(nn.Linear(9, 8), nn.BatchNorm1d(8), nn.ReLU()) for _ in range(2))
            self.gate = nn.Linear(9, 2)
            self.tower = nn.Sequential(nn.Linear(8, 4), nn.Tanh(), nn.Linear(4, 1))

        def forward(self, country, roles, dense):
            x = torch.cat([self.country(country), self.roles(roles).sum(dim=1), dense], dim=1)
            e = torch.stack([m(x) for m in self.experts], dim=1)
            w = torch.softmax(self.gate(x), dim=1)
            return torch.sigmoid(self.tower(torch.sum(w.unsqueeze(-1) * e, dim=1)))

    dense = np.stack([f["years"], f["sat"]], axis=1)
    save("plain_embeddings", randomized(Plain()),
         (torch.as_tensor(f["country"]), torch.as_tensor(f["roles"]), torch.as_tensor(dense)),
         {"country": f["country"], "roles": f["roles"], "dense": dense}, 17)

    class DenseMmoe(nn.Module):  # the seed's shape: one float input, no embeddings
        def __init__(self):
            super().__init__()
            self.experts = nn.ModuleList(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())
                                         for _ in range(3))
            self.gates = nn.ModuleList(nn.Linear(6, 3) for _ in range(2))
            self.towers = nn.ModuleList(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)) for _ in range(2))

        def forward(self, x):
            e = torch.stack([m(x) for m in self.experts], dim=1)
            outs = []
            for gate, tower in zip(self.gates, self.towers):
                w = torch.softmax(gate(x), dim=1)
                outs.append(torch.sigmoid(tower(torch.matmul(w.unsqueeze(1), e).squeeze(1))))
            return torch.cat(outs, dim=1)

    x = np.random.default_rng(2).random((N, 6)).astype(np.float32)
    save("dense_mmoe", randomized(DenseMmoe()), (torch.as_tensor(x),), {"input": x}, 13)

    # examples/families' plain modules: a 2-level PLE, an MMoE with GELU, LeakyReLU, Tanh and SiLU
    # (torch exports GELU as Div, Erf, Add, Mul, Mul and SiLU as Sigmoid, Mul) and a regression
    # task, and ESMM; on 12 inputs.
    sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "examples", "families"))
    from models import ActivationMmoe, Esmm, Ple  # noqa: E402
    x12 = np.random.default_rng(3).random((N, 12)).astype(np.float32)
    for name, model, opset in (("families_ple", Ple(12), 17), ("families_activation_mmoe", ActivationMmoe(12), 13),
                               ("families_esmm", Esmm(12), 17)):
        save(name, randomized(model), (torch.as_tensor(x12),), {"input": x12}, opset)

    # Refused: nn.EmbeddingBag (a Loop over the bags), and an operator the importer does not map.
    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(10, 4, mode="sum")
            self.out = nn.Linear(4, 1)

        def forward(self, roles):
            return torch.sigmoid(self.out(self.bag(roles)))

    save("refused_embedding_bag", randomized(Bag()), (torch.as_tensor(f["roles"]),), {"roles": f["roles"]}, 13)

    class Cosine(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 4)
            self.out = nn.Linear(4, 1)

        def forward(self, x):
            return torch.sigmoid(self.out(torch.cos(self.a(x))))

    save("refused_cos", randomized(Cosine()), (torch.as_tensor(dense),), {"x": dense}, 13)


if __name__ == "__main__":
    main()
