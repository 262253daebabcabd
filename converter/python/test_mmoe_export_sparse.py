#!/usr/bin/python3
"""Self-check for the exporter on models with sparse features.

Run:  /usr/bin/python3 converter/python/test_mmoe_export_sparse.py

Plain modules with nn.Embedding / nn.EmbeddingBag, DeepCTR-Torch's and torch-rechub's MMOE,
PLE, SharedBottom and ESMM (replicas/: their module trees and state_dict keys) are exported;
the written files alone, computed with numpy on the inputs inputs_for() gives, must reproduce
forward(); what cannot be mapped is refused naming the feature, module or operation.
"""

import json
import os
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mmoe_export  # noqa: E402
import mmoe_trace  # noqa: E402
from replicas import deepctr_torch as dc  # noqa: E402
from replicas import torch_rechub as rh  # noqa: E402
from test_mmoe_export import read_safetensors  # noqa: E402

N, MAXLEN = 160, 5


def randomized(model, seed=0, scale=0.4):
    """Weights, biases, tables and BatchNorm statistics far from their initial values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model.eval()


def features(seed=1, n=N, maxlen=MAXLEN, roles_below=12):
    """n items: a country id in [0, 6), a size id in [0, 9), a bag of up to maxlen role ids in
    [1, roles_below) padded with 0 (some empty), two floats in [0, 1)."""
    rng = np.random.default_rng(seed)
    roles = np.zeros((n, maxlen), dtype=np.int64)
    for i in range(n):
        k = rng.integers(0, maxlen + 1)  # some bags empty
        roles[i, :k] = rng.choice(np.arange(1, roles_below), size=k, replace=False)
    return {"country": rng.integers(0, 6, n), "size": rng.integers(0, 9, n), "roles": roles,
            "years": rng.random(n).astype(np.float32), "sat": rng.random(n).astype(np.float32)}


class SparseExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.prefix = os.path.join(self.tmp.name, "m")
        self.f = features()

    def tearDown(self):
        self.tmp.cleanup()

    def export_and_check(self, model, example, torch_args=None, **kwargs):
        """Exports; the files alone reproduce forward() on inputs_for(example)."""
        arch = mmoe_export.export(model, example, self.prefix, **kwargs)
        tensors, _, _ = read_safetensors(self.prefix + ".safetensors")
        with open(self.prefix + ".arch.json", encoding="utf-8") as f:
            self.assertEqual(json.load(f), arch)
        inputs = mmoe_export.inputs_for(model, example)
        self.assertEqual(sorted(inputs), sorted(i["name"] for i in arch["inputs"]))
        for i in arch["inputs"]:
            self.assertEqual(inputs[i["name"]].dtype, np.float32 if "width" in i else np.int64)
        values = mmoe_trace.run_graph(arch, tensors, inputs)
        got = np.stack([values[o["tensor"]].reshape(-1) for o in arch["outputs"]], axis=1)
        with torch.no_grad():
            args = torch_args if torch_args is not None else (example if isinstance(example, tuple) else (example,))
            expect = model(*args).double().numpy()
        np.testing.assert_allclose(got, expect.reshape(got.shape), rtol=1e-5, atol=1e-5)
        return arch

    # -- plain modules ---------------------------------------------------------------------------

    def test_plain_embeddings_several_arguments(self):
        class Plain(nn.Module):
            def __init__(self):
                super().__init__()
                self.country = nn.Embedding(6, 4)
                self.size = nn.Embedding(9, 3)
                self.roles = nn.EmbeddingBag(12, 5, mode="mean", padding_idx=0)
                self.experts = nn.ModuleList(nn.Sequential(nn.Linear(14, 8), nn.ReLU()) for _ in range(3))
                self.gate = nn.Linear(14, 3)
                self.tower = nn.Linear(8, 1)

            def forward(self, country, size, roles, dense):
                x = torch.cat([self.country(country), self.size(size), self.roles(roles), dense], dim=1)
                e = torch.stack([m(x) for m in self.experts], dim=1)
                w = torch.softmax(self.gate(x), dim=1)
                return torch.sigmoid(self.tower(torch.sum(w.unsqueeze(-1) * e, dim=1)))

        f = self.f
        example = (torch.as_tensor(f["country"]), torch.as_tensor(f["size"]), torch.as_tensor(f["roles"]),
                   torch.as_tensor(np.stack([f["years"], f["sat"]], axis=1)))
        arch = self.export_and_check(randomized(Plain()), example)
        self.assertEqual(arch["inputs"], [{"name": "country", "kind": "ids"}, {"name": "size", "kind": "ids"},
                                          {"name": "roles", "kind": "bag"}, {"name": "dense", "width": 2}])
        emb = [n for n in arch["nodes"] if n["op"] == "embedding"]
        self.assertEqual(emb[2], {"op": "embedding", "input": "roles", "output": "roles.emb", "table": "roles.weight",
                                  "pooling": "mean", "padding_id": 0})
        concat = [n for n in arch["nodes"] if n["op"] == "concat"]
        self.assertEqual(concat[0]["inputs"], ["country.emb", "size.emb", "roles.emb", "dense"])

    def test_dict_inputs_and_a_bag_summed_without_padding(self):
        class Dict(nn.Module):
            def __init__(self):
                super().__init__()
                self.tables = nn.ModuleDict({"country": nn.Embedding(6, 4), "roles": nn.Embedding(12, 4)})
                self.bottom = nn.Sequential(nn.Linear(9, 6), nn.BatchNorm1d(6), nn.ReLU())
                self.towers = nn.ModuleList(nn.Linear(6, 1) for _ in range(2))

            def forward(self, x):
                h = torch.cat([self.tables["country"](x["country"].long()),
                               self.tables["roles"](x["roles"].long()).sum(dim=1), x["years"].float().unsqueeze(1)],
                              dim=1)
                h = self.bottom(h)
                return torch.cat([torch.sigmoid(self.towers[0](h)), self.towers[1](h)], dim=1)

        example = {k: torch.as_tensor(v) for k, v in self.f.items() if k in ("country", "roles", "years")}
        arch = self.export_and_check(randomized(Dict()), example)
        bag = [n for n in arch["nodes"] if n["op"] == "embedding" and n["input"] == "roles"][0]
        self.assertEqual(bag["pooling"], "sum")
        self.assertNotIn("padding_id", bag)  # every id counts, as x.sum(1) counts them
        self.assertEqual([i["name"] for i in arch["inputs"]], ["country", "roles", "years"])

    # -- DeepCTR-Torch ---------------------------------------------------------------------------

    def deepctr_columns(self, combiner="mean"):
        return [dc.SparseFeat("country", 6, 4), dc.SparseFeat("size", 9, 3),
                dc.VarLenSparseFeat(dc.SparseFeat("roles", 12, 5), maxlen=MAXLEN, combiner=combiner),
                dc.DenseFeat("years", 1), dc.DenseFeat("sat", 1)]

    def deepctr_x(self, model):
        return np.concatenate([np.asarray(self.f[n]).reshape(N, -1).astype(np.float32) for n in model.feature_index],
                              axis=1)

    def test_deepctr_models(self):
        cols = self.deepctr_columns()
        models = {
            "MMOE": dc.MMOE(cols, num_experts=3, expert_dnn_hidden_units=(10, 6), gate_dnn_hidden_units=(4,),
                            tower_dnn_hidden_units=(4,), dnn_use_bn=True, task_types=("binary", "regression")),
            "PLE": dc.PLE(cols, shared_expert_num=1, specific_expert_num=2, num_levels=2,
                          expert_dnn_hidden_units=(10, 6), gate_dnn_hidden_units=(4,), tower_dnn_hidden_units=(4,),
                          dnn_use_bn=True, task_types=("binary", "binary")),
            "SharedBottom": dc.SharedBottom(cols, bottom_dnn_hidden_units=(10, 6), tower_dnn_hidden_units=(4,)),
            "ESMM": dc.ESMM(cols, tower_dnn_hidden_units=(10, 6), dnn_use_bn=True),
        }
        for kind, model in models.items():
            with self.subTest(kind):
                model = randomized(model)
                x = torch.as_tensor(self.deepctr_x(model))
                arch = self.export_and_check(model, x, task_names=["a", "b"])
                self.assertEqual([i["name"] for i in arch["inputs"]], list(model.feature_index))
                self.assertEqual([i.get("kind", "dense") for i in arch["inputs"]],
                                 ["ids", "ids", "bag", "dense", "dense"])
                tables = {n["table"] for n in arch["nodes"] if n["op"] == "embedding"}
                self.assertEqual(tables, {"embedding_dict.country.weight", "embedding_dict.size.weight",
                                          "embedding_dict.roles.weight"})
                bag = [n for n in arch["nodes"] if n.get("input") == "roles"][0]
                self.assertEqual((bag["pooling"], bag["padding_id"]), ("mean", 0))  # DeepCTR-Torch masks id 0
                concat = [n for n in arch["nodes"] if n["op"] == "concat"][0]
                self.assertEqual(concat["inputs"][3:], ["years", "sat"])  # sparse, then pooled, then dense
                if kind == "PLE":  # the last level's shared gate is computed but unused: left out
                    self.assertFalse([n for n in arch["nodes"] if "shared_gate_dnn.1" in n["output"]])
                # predict()'s dict of features gives the same export.
                by_name = {n: np.asarray(self.f[n]) for n in model.feature_index}
                self.assertEqual(mmoe_export.export(model, by_name, self.prefix, task_names=["a", "b"]), arch)

    def test_deepctr_refusals(self):
        cases = [
            (self.deepctr_columns("max"), "pools by 'max'"),
            ([dc.SparseFeat("country", 6, 4),
              dc.VarLenSparseFeat(dc.SparseFeat("roles", 12, 5), maxlen=MAXLEN, length_name="n_roles")],
             "reads its length from column 'n_roles'"),
        ]
        for cols, what in cases:
            with self.subTest(what):
                model = randomized(dc.MMOE(cols, expert_dnn_hidden_units=(6,), gate_dnn_hidden_units=(),
                                           tower_dnn_hidden_units=()))
                x = torch.zeros(4, max(b for _, b in model.feature_index.values()))
                with self.assertRaises(ValueError) as ctx:
                    mmoe_export.export(model, x, self.prefix)
                self.assertIn(what, str(ctx.exception))
                self.assertFalse(os.path.exists(self.prefix + ".arch.json"))

    # -- torch-rechub ----------------------------------------------------------------------------

    def rechub_features(self, pooling="mean", padding_idx=0):
        return [rh.SparseFeature("country", 6, 4), rh.SparseFeature("size", 9, 4),
                rh.SequenceFeature("roles", 12, 4, pooling=pooling, padding_idx=padding_idx),
                rh.DenseFeature("years"), rh.DenseFeature("sat")]

    def rechub_x(self):
        return {k: torch.as_tensor(v) for k, v in self.f.items()}

    def test_rechub_models(self):
        feats = self.rechub_features()
        models = {
            "MMOE": rh.MMOE(feats, ["classification", "regression"], 3, {"dims": [10, 6]}, [{"dims": [4]}] * 2),
            "PLE": rh.PLE(self.rechub_features("sum", None), ["classification", "classification"], 2, 2, 1,
                          {"dims": [10, 6]}, [{"dims": [4]}] * 2),
            "SharedBottom": rh.SharedBottom(feats, ["classification", "regression"], {"dims": [8]},
                                            [{"dims": [4]}] * 2),
        }
        for kind, model in models.items():
            with self.subTest(kind):
                arch = self.export_and_check(randomized(model), self.rechub_x())
                self.assertEqual([i["name"] for i in arch["inputs"]], ["country", "size", "roles", "years", "sat"])
                bag = [n for n in arch["nodes"] if n.get("input") == "roles"][0]
                self.assertEqual(bag["table"], "embedding.embed_dict.roles.weight")
                if kind == "PLE":  # padding_idx None: every id counts, as torch-rechub's mask keeps them
                    self.assertEqual(bag["pooling"], "sum")
                    self.assertNotIn("padding_id", bag)
                else:
                    self.assertEqual((bag["pooling"], bag["padding_id"]), ("mean", 0))

    def test_rechub_esmm_with_a_shared_table(self):
        user = [rh.SparseFeature("country", 6, 4), rh.SequenceFeature("roles", 12, 4, pooling="mean", padding_idx=0)]
        item = [rh.SparseFeature("size", 9, 4), rh.SparseFeature("size2", 9, 4, shared_with="size")]
        model = randomized(rh.ESMM(user, item, {"dims": [8]}, {"dims": [8]}))
        x = self.rechub_x()
        x["size2"] = x["size"].flip(0)
        arch = self.export_and_check(model, x)
        # Dense features are dropped by ESMM's squeeze_dim=False, as torch-rechub does.
        self.assertEqual([i["name"] for i in arch["inputs"]], ["country", "roles", "size", "size2"])
        tables = [n["table"] for n in arch["nodes"] if n["op"] == "embedding"]
        self.assertEqual(tables.count("embedding.embed_dict.size.weight"), 2)
        self.assertEqual(len(arch["outputs"]), 3)  # pCVR, pCTR, pCTCVR
        self.assertEqual([n["op"] for n in arch["nodes"]].count("product"), 1)

    def test_plain_refusals(self):
        class Offsets(nn.Module):
            def __init__(self):
                super().__init__()
                self.bag = nn.EmbeddingBag(12, 4, mode="sum")
                self.out = nn.Linear(4, 1)

            def forward(self, ids, offsets):
                return self.out(self.bag(ids, offsets))

        with self.assertRaises(ValueError) as ctx:
            mmoe_export.export(randomized(Offsets()), (torch.tensor([1, 2, 3]), torch.tensor([0, 2])), self.prefix)
        self.assertIn("without offsets", str(ctx.exception))

        class Unpooled(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(12, 4)
                self.out = nn.Linear(4, 1)

            def forward(self, ids):
                return self.out(self.emb(ids))

        with self.assertRaises(ValueError) as ctx:
            mmoe_export.export(randomized(Unpooled()), (torch.as_tensor(self.f["roles"]),), self.prefix)
        self.assertIn("module out (Linear)", str(ctx.exception))

        class Joined(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b, self.out = nn.Linear(3, 2), nn.Linear(3, 2), nn.Linear(4, 1)

            def forward(self, x):
                return self.out(torch.cat([self.a(x), self.b(x)], dim=1))

        with self.assertRaises(ValueError) as ctx:
            mmoe_export.export(randomized(Joined()), torch.rand(8, 3), self.prefix)
        self.assertIn("concatenating activations is not supported", str(ctx.exception))
        self.assertFalse(os.path.exists(self.prefix + ".arch.json"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
