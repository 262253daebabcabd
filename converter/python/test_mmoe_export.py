#!/usr/bin/python3
"""Self-check for mmoe_export.py.

Run:  /usr/bin/python3 converter/python/test_mmoe_export.py

Exports small seed-like models with odd shapes, re-reads the safetensors file with a tiny
parser written here independently of the writer, and checks that
  * the file layout follows the spec (header length, 8-byte padding, contiguous offsets),
  * every tensor round-trips bit-exactly,
  * the architecture JSON names the right tensors and activations, and a plain numpy forward
    pass driven only by the two files reproduces the PyTorch model's outputs,
  * models the runtime cannot represent raise ValueError.
"""

import json
import os
import struct
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "families"))
import mmoe_export  # noqa: E402
import mmoe_trace  # noqa: E402
from models import ActivationMmoe, Esmm, Ple  # noqa: E402


# --------------------------------------------------------------------------------------------
# An independent reader: only struct, json and numpy.
# --------------------------------------------------------------------------------------------

def read_safetensors(path):
    """Return (tensors: dict name -> float32 array, metadata, header keys in file order)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert (8 + n) % 8 == 0, "data section not 8-byte aligned"
    header = json.loads(blob[8:8 + n].decode("utf-8"))  # trailing space padding is valid JSON
    keys = list(header)  # json keeps the file's key order
    metadata = header.pop("__metadata__", None)
    data = blob[8 + n:]
    tensors, expect = {}, 0
    for name in [k for k in keys if k != "__metadata__"]:
        entry = header[name]
        assert entry["dtype"] == "F32", entry
        begin, end = entry["data_offsets"]
        assert begin == expect, "tensors must be stored contiguously in header order"
        count = int(np.prod(entry["shape"], dtype=np.int64))
        assert end - begin == 4 * count, "size does not match shape for %s" % name
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
        expect = end
    assert expect == len(data), "trailing bytes after the last tensor"
    return tensors, metadata, keys


def mlp(layers, tensors, h):
    """Run an arch-JSON MLP in float64."""
    for layer in layers:
        h = h @ tensors[layer["weight"]].astype(np.float64).T
        if "bias" in layer:
            h = h + tensors[layer["bias"]]
        if layer["activation"] == "relu":
            h = np.maximum(h, 0.0)
        else:
            assert layer["activation"] == "none", layer
    return h


def reference_forward(arch, tensors, x):
    """Per-task outputs computed from the exported files alone (the runtime's semantics)."""
    x = x.astype(np.float64)
    experts = [mlp(e["layers"], tensors, x) for e in arch["experts"]]
    outs = []
    for task in arch["tasks"]:
        gate = arch["gates"][task["gate"]]
        logits = mlp(gate["layers"], tensors, x)
        w = np.exp(logits - logits.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        mixed = sum(w[:, j:j + 1] * experts[e] for j, e in enumerate(gate["experts"]))
        y = mlp(task["tower"]["layers"], tensors, mixed)[:, 0]
        if task.get("output", "sigmoid") == "sigmoid":
            y = 1.0 / (1.0 + np.exp(-y))
        outs.append(y)
    return np.stack(outs, axis=1)


# --------------------------------------------------------------------------------------------
# Test models
# --------------------------------------------------------------------------------------------

class TinyMMoE(nn.Module):
    """Seed attribute names, 3 experts, 3 tasks, odd widths and some variations:

    * expert 1 ends without ReLU and has a Dropout and a bias-free layer,
    * gate 2 is a single Linear + Softmax(dim=-1),
    * tower 3 has no Sigmoid (identity output), tower 2 nests an nn.Sequential.
    """

    def __init__(self, d=7, h=5, e_out=3, n_experts=3):
        super().__init__()
        self.experts = nn.ModuleList([
            nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, e_out), nn.ReLU()),
            nn.Sequential(nn.Linear(d, 9, bias=False), nn.ReLU(), nn.Dropout(0.1), nn.Linear(9, e_out)),
            nn.Sequential(nn.Linear(d, e_out), nn.ReLU(inplace=True)),
        ])
        self.gating1_network = nn.Sequential(nn.Linear(d, 4), nn.ReLU(), nn.Linear(4, n_experts),
                                             nn.Softmax(dim=1))
        self.gating2_network = nn.Sequential(nn.Linear(d, n_experts), nn.Softmax(dim=-1))
        self.gating3_network = nn.Sequential(nn.Linear(d, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(),
                                             nn.Linear(2, n_experts), nn.Softmax(dim=1))
        self.task1_head = nn.Sequential(nn.Linear(e_out, 5), nn.ReLU(), nn.Linear(5, 1), nn.Sigmoid())
        self.task2_head = nn.Sequential(nn.Sequential(nn.Linear(e_out, 3), nn.ReLU()),
                                        nn.Linear(3, 1), nn.Sigmoid())
        self.task3_head = nn.Sequential(nn.Linear(e_out, 1))

    def forward(self, x):
        ex = [e(x) for e in self.experts]
        out = []
        for t in (1, 2, 3):
            g = getattr(self, "gating%d_network" % t)(x)
            mixed = sum(g[:, i:i + 1] * ex[i] for i in range(len(ex)))
            out.append(getattr(self, "task%d_head" % t)(mixed))
        return torch.cat(out, dim=1)


def make_tiny(seed=0):
    torch.manual_seed(seed)
    model = TinyMMoE()
    # Exact values that expose sloppy conversion: signed zero, the smallest subnormal, the
    # largest finite float32 and the smallest normal one.
    with torch.no_grad():
        model.experts[0][0].weight[0, 0:4] = torch.tensor(
            [-0.0, 1e-45, 3.4028234663852886e38, 1.1754943508222875e-38])
    return model


class ExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.prefix = os.path.join(self.tmp.name, "sub", "tiny")  # also checks dir creation

    def tearDown(self):
        self.tmp.cleanup()

    def test_roundtrip_and_arch(self):
        model = make_tiny()
        arch = mmoe_export.export_mmoe(model, self.prefix, task_names=["a", "b", "c"],
                                       feature_names=["x%d" % i for i in range(7)])
        tensors, meta, keys = read_safetensors(self.prefix + ".safetensors")
        with open(self.prefix + ".arch.json", encoding="utf-8") as f:
            arch_file = json.load(f)
        self.assertEqual(arch, arch_file)
        self.assertEqual(meta["producer"], "mmoe_export")

        # Every Linear tensor of the state_dict, bit-exact, in state_dict order, nothing else.
        state = model.state_dict()
        self.assertEqual([k for k in keys if k != "__metadata__"], list(state.keys()))
        for k, v in state.items():
            self.assertEqual(tensors[k].shape, tuple(v.shape), k)
            self.assertEqual(tensors[k].tobytes(), v.numpy().astype("<f4").tobytes(), k)
        self.assertTrue(np.signbit(tensors["experts.0.0.weight"][0, 0]))

        # The JSON: the exact layers and activations.
        self.assertEqual(arch["format"], "mmoe-arch")
        self.assertEqual(arch["version"], 1)
        self.assertEqual(arch["name"], "tiny")
        self.assertEqual(arch["input_dim"], 7)
        self.assertEqual(arch["feature_names"], ["x%d" % i for i in range(7)])

        def lay(prefix, act, bias=True):
            d = {"weight": prefix + ".weight"}
            if bias:
                d["bias"] = prefix + ".bias"
            d["activation"] = act
            return d

        self.assertEqual(arch["experts"], [
            {"layers": [lay("experts.0.0", "relu"), lay("experts.0.2", "relu")]},
            {"layers": [lay("experts.1.0", "relu", bias=False), lay("experts.1.3", "none")]},
            {"layers": [lay("experts.2.0", "relu")]},
        ])
        self.assertEqual(arch["gates"], [
            {"experts": [0, 1, 2], "layers": [lay("gating1_network.0", "relu"),
                                              lay("gating1_network.2", "none")]},
            {"experts": [0, 1, 2], "layers": [lay("gating2_network.0", "none")]},
            {"experts": [0, 1, 2], "layers": [lay("gating3_network.0", "relu"),
                                              lay("gating3_network.2", "relu"),
                                              lay("gating3_network.4", "none")]},
        ])
        self.assertEqual(arch["tasks"], [
            {"name": "a", "gate": 0, "tower": {"layers": [lay("task1_head.0", "relu"),
                                                          lay("task1_head.2", "none")]},
             "output": "sigmoid"},
            {"name": "b", "gate": 1, "tower": {"layers": [lay("task2_head.0.0", "relu"),
                                                          lay("task2_head.1", "none")]},
             "output": "sigmoid"},
            {"name": "c", "gate": 2, "tower": {"layers": [lay("task3_head.0", "none")]},
             "output": "identity"},
        ])

        # The two files alone reproduce the model (on a model without the extreme test values).
        model = make_tiny(seed=1)
        with torch.no_grad():
            model.experts[0][0].weight[0, :4] = 0.5
        arch = mmoe_export.export_mmoe(model, self.prefix)
        tensors, _, _ = read_safetensors(self.prefix + ".safetensors")
        self.assertEqual([t["name"] for t in arch["tasks"]], ["task1", "task2", "task3"])
        x = torch.rand(64, 7)
        model.eval()
        with torch.no_grad():
            out = model(x)
            if isinstance(out, (tuple, list)):
                out = torch.cat([o.reshape(-1, 1) for o in out], dim=1)
            expect = out.double().numpy()
        got = reference_forward(arch, tensors, x.numpy())
        np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-6)

    def test_explicit_lists_and_moe(self):
        """Non-seed attribute names, one shared gate over a subset of experts (MoE)."""
        class Custom(nn.Module):
            def __init__(self):
                super().__init__()
                self.bottoms = nn.ModuleList([nn.Sequential(nn.Linear(4, 2), nn.ReLU()) for _ in range(2)])
                self.router = nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=1))
                self.heads = nn.ModuleDict({"ctr": nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()),
                                            "cvr": nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())})

        m = Custom()
        arch = mmoe_export.export_mmoe(m, self.prefix, experts=m.bottoms, gates=[m.router],
                                       towers=[m.heads["ctr"], m.heads["cvr"]],
                                       task_names=["ctr", "cvr"], task_gates=[0, 0],
                                       gate_experts=[[1, 0]], name="custom")
        self.assertEqual(arch["name"], "custom")
        self.assertEqual(arch["gates"][0]["experts"], [1, 0])
        self.assertEqual([t["gate"] for t in arch["tasks"]], [0, 0])
        self.assertEqual(arch["tasks"][1]["tower"]["layers"][0]["weight"], "heads.cvr.0.weight")
        tensors, _, _ = read_safetensors(self.prefix + ".safetensors")
        self.assertEqual(set(tensors), set(m.state_dict()))

    def test_unsupported_raise(self):
        def seedlike(expert=None, gate=None, tower=None):
            m = TinyMMoE()
            if expert is not None:
                m.experts[0] = expert
            if gate is not None:
                m.gating1_network = gate
            if tower is not None:
                m.task1_head = tower
            return m

        bad = {
            "unknown activation": seedlike(expert=nn.Sequential(nn.Linear(7, 3), nn.Tanh())),
            "normalisation": seedlike(expert=nn.Sequential(nn.Linear(7, 3), nn.LayerNorm(3), nn.ReLU())),
            "ReLU first": seedlike(expert=nn.Sequential(nn.ReLU(), nn.Linear(7, 3))),
            "expert width": seedlike(expert=nn.Sequential(nn.Linear(7, 4), nn.ReLU())),
            "input width": seedlike(expert=nn.Sequential(nn.Linear(6, 3), nn.ReLU())),
            "gate without softmax": seedlike(gate=nn.Sequential(nn.Linear(7, 3))),
            "softmax over batch": seedlike(gate=nn.Sequential(nn.Linear(7, 3), nn.Softmax(dim=0))),
            "gate logits count": seedlike(gate=nn.Sequential(nn.Linear(7, 2), nn.Softmax(dim=1))),
            "sigmoid mid-tower": seedlike(tower=nn.Sequential(nn.Linear(3, 2), nn.Sigmoid(),
                                                              nn.Linear(2, 1))),
            "tower ends in ReLU": seedlike(tower=nn.Sequential(nn.Linear(3, 1), nn.ReLU())),
            "tower width": seedlike(tower=nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())),
        }
        m = TinyMMoE()
        m.extra_scale = nn.Parameter(torch.ones(1))
        bad["stray parameter"] = m
        m = TinyMMoE()
        m.experts[1][0].weight.data[0, 0] = float("nan")
        bad["NaN weight"] = m
        for what, model in bad.items():
            with self.subTest(what=what):
                with self.assertRaises(ValueError):
                    mmoe_export.export_mmoe(model, self.prefix)
        # A failed export leaves no files behind (checks happen before anything is written).
        self.assertFalse(os.path.exists(self.prefix + ".safetensors"))
        self.assertFalse(os.path.exists(self.prefix + ".arch.json"))
        with self.assertRaises(ValueError):
            mmoe_export.export_mmoe(TinyMMoE(), self.prefix, task_names=["a", "b"])

    def test_sigmoid_applied_in_forward_is_caught(self):
        """A tower ending in logits whose forward() applies the sigmoid (torch-rechub's
        PredictionLayer, BCEWithLogitsLoss models) would be exported as an identity task."""
        class LogitTowers(TinyMMoE):
            def forward(self, x):
                out = super().forward(x)
                return torch.cat([out[:, :2], torch.sigmoid(out[:, 2:])], dim=1)

        torch.manual_seed(5)
        with self.assertRaises(ValueError) as ctx:
            mmoe_export.export_mmoe(LogitTowers(), self.prefix)
        self.assertIn("task 2 (task3)", str(ctx.exception))
        self.assertIn("use mmoe_export.export()", str(ctx.exception))
        self.assertFalse(os.path.exists(self.prefix + ".arch.json"))

    def test_write_safetensors_numpy_and_metadata(self):
        path = os.path.join(self.tmp.name, "t.safetensors")
        values = {
            "b": np.arange(6, dtype=np.float64).reshape(2, 3),      # converted to float32
            "a": np.asfortranarray(np.eye(3, dtype=np.float32)),   # non-C-contiguous input
            "big": np.array([1.5], dtype=">f4"),                    # big-endian input
            "scalar": np.float32(2.25),
            "empty": np.zeros((0, 4), dtype=np.float32),
            "t": torch.linspace(-1, 1, 5, dtype=torch.float16),
        }
        mmoe_export.write_safetensors(path, values, {"k": "v", "ключ": "значение"})
        tensors, meta, keys = read_safetensors(path)
        self.assertEqual(meta, {"k": "v", "ключ": "значение"})
        self.assertEqual([k for k in keys if k != "__metadata__"], list(values))
        for k, v in values.items():
            v = v.float().numpy() if isinstance(v, torch.Tensor) else np.asarray(v, dtype=np.float32)
            np.testing.assert_array_equal(tensors[k], v)
            self.assertEqual(tensors[k].shape, v.shape)
        # No temporary files left behind.
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["t.safetensors"])
        with self.assertRaises(ValueError):
            mmoe_export.write_safetensors(path, {"x": np.array(["s"])})
        with self.assertRaises(ValueError):
            mmoe_export.write_safetensors(path, {"x": np.zeros(1)}, {"k": 1})


# --------------------------------------------------------------------------------------------
# export(): tracing
# --------------------------------------------------------------------------------------------

def randomized(model, seed=0):
    """``model`` with BatchNorm statistics and scalar biases away from their defaults, in eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
        for name, p in model.named_parameters():
            if p.numel() == 1:
                p.fill_(0.7)
    return model.eval()


def ops(arch):
    counts = {}
    for n in arch["nodes"]:
        counts[n["op"]] = counts.get(n["op"], 0) + 1
    return counts


class TraceExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.prefix = os.path.join(self.tmp.name, "m")
        torch.manual_seed(3)
        self.x = torch.rand(200, 12)

    def tearDown(self):
        self.tmp.cleanup()

    def check_files(self, model, arch, x):
        """The written files alone reproduce forward() on x."""
        tensors, meta, _ = read_safetensors(self.prefix + ".safetensors")
        with open(self.prefix + ".arch.json", encoding="utf-8") as f:
            self.assertEqual(json.load(f), arch)
        self.assertEqual(meta["producer"], "mmoe_export")
        values = mmoe_trace.run_graph(arch, tensors, x.numpy())
        got = np.stack([values[o["tensor"]].reshape(-1) for o in arch["outputs"]], axis=1)
        with torch.no_grad():
            out = model(x)
            if isinstance(out, (tuple, list)):
                out = torch.cat([o.reshape(-1, 1) for o in out], dim=1)
            expect = out.double().numpy()
        np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-6)
        return tensors

    def test_two_level_ple(self):
        model = randomized(Ple(12, expert_dims=(10, 6), tower_dims=(4,)))
        arch = mmoe_export.export(model, self.x, self.prefix, task_names=["a", "b"])
        self.assertEqual(arch["version"], 2)
        # Level 1: 2 task mixtures and the shared one; level 2: 2 task mixtures; BatchNorm folded.
        self.assertEqual(ops(arch), {"dense": 2 * (2 * 2 + 1) * 2 + 3 + 2 + 2 * 2, "softmax": 5, "mixture": 5,
                                     "sigmoid": 2})
        mix = [n for n in arch["nodes"] if n["op"] == "mixture"]
        # Level 2's task-0 experts read task 0's level-1 mixture; its shared expert the shared one.
        readers = {n["output"]: n["input"] for n in arch["nodes"] if n["op"] == "dense"}
        self.assertEqual(readers["cgc_layers.1.experts_specific.0.0"], mix[0]["output"])
        self.assertEqual(readers["cgc_layers.1.experts_shared.0.0"], mix[2]["output"])
        self.assertEqual(len(mix[2]["experts"]), 5)  # the shared gate mixes all of level 1's experts
        self.assertTrue(all(n.get("activation") == "relu" for n in arch["nodes"]
                            if n["op"] == "dense" and ".experts_" in n["output"]))
        self.assertEqual([o["name"] for o in arch["outputs"]], ["a", "b"])
        self.check_files(model, arch, self.x)

    def test_activations_and_regression(self):
        model = randomized(ActivationMmoe(12, expert_dims=(10, 6)))
        arch = mmoe_export.export(model, self.x, self.prefix)
        functions = sorted(n["function"] for n in arch["nodes"] if n["op"] == "activation")
        self.assertEqual(functions, ["gelu"] * 3 + ["leaky_relu"] * 3 + ["silu"] * 2 + ["tanh"] * 2)
        self.assertTrue(all(n["slope"] == 0.1 for n in arch["nodes"] if n.get("function") == "leaky_relu"))
        self.assertEqual(ops(arch)["sigmoid"], 1)
        # The PredictionLayer-style scalar bias is folded into the bias-free logit layers.
        logit = [n for n in arch["nodes"] if n["output"] == arch["outputs"][1]["tensor"]][0]
        self.assertEqual(logit["op"], "dense")
        tensors = self.check_files(model, arch, self.x)
        self.assertTrue(np.allclose(tensors[logit["bias"]], 0.7))

    def test_esmm(self):
        model = randomized(Esmm(12, dims=(8, 4)))
        arch = mmoe_export.export(model, self.x, self.prefix, task_names=["ctr", "ctcvr"])
        self.assertEqual(ops(arch), {"dense": 6, "sigmoid": 2, "product": 1})
        product = [n for n in arch["nodes"] if n["op"] == "product"][0]
        self.assertEqual(arch["outputs"][1]["tensor"], product["output"])
        self.assertEqual(arch["outputs"][0]["tensor"], product["inputs"][0])
        self.check_files(model, arch, self.x)

    def test_styles(self):
        """Functional forms of the same MMoE: bmm, (w.unsqueeze(-1) * e).sum(1), F.linear, a dict."""
        class Styles(nn.Module):
            def __init__(self):
                super().__init__()
                self.e = nn.ModuleList(nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Dropout(0.2)) for _ in range(3))
                self.g = nn.ModuleList(nn.Linear(12, 3) for _ in range(2))
                self.t = nn.ModuleList(nn.Linear(8, 1) for _ in range(2))

            def forward(self, x):
                e = torch.stack([m(x) for m in self.e], dim=1)
                w0 = torch.softmax(self.g[0](x), dim=-1)
                m0 = torch.bmm(w0.unsqueeze(1), e).squeeze(1)
                w1 = F.softmax(F.linear(x, self.g[1].weight, self.g[1].bias), dim=1)
                m1 = (w1.unsqueeze(-1) * e).sum(1)
                return {"p": torch.sigmoid(self.t[0](m0)).squeeze(-1), "q": self.t[1](m1).squeeze(1)}

        import torch.nn.functional as F
        model = Styles().eval()
        arch = mmoe_export.export(model, self.x, self.prefix)
        self.assertEqual([o["name"] for o in arch["outputs"]], ["p", "q"])
        self.assertEqual(ops(arch), {"dense": 7, "softmax": 2, "mixture": 2, "sigmoid": 1})
        tensors, _, _ = read_safetensors(self.prefix + ".safetensors")
        values = mmoe_trace.run_graph(arch, tensors, self.x.numpy())
        with torch.no_grad():
            out = model(self.x)
        np.testing.assert_allclose(values[arch["outputs"][0]["tensor"]].reshape(-1), out["p"].numpy(), rtol=1e-5)

    def test_sums_accumulated_term_by_term(self):
        """The seed article's forward(): zeros shaped from x.shape, then acc += expert * gate[:, i].unsqueeze(1);
        also sum() over p[:, i:i + 1] * e and p[:, i].view(-1, 1) * e."""
        sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "seed"))
        import train_seed

        torch.manual_seed(5)
        article = train_seed.MMoEModel(12, 10, 8, 6, 5, 4, 1, 1, 4, 3, 3).eval()
        arch = mmoe_export.export(article, self.x, self.prefix)
        self.assertEqual(ops(arch), {"dense": 21, "softmax": 2, "mixture": 2, "sigmoid": 2})
        mix = [n for n in arch["nodes"] if n["op"] == "mixture"]
        self.assertEqual(mix[0]["experts"], ["experts.%d.4" % i for i in range(3)])
        self.assertEqual([m["gate"] for m in mix], ["gating1_network.5", "gating2_network.5"])
        self.check_files(article, arch, self.x)

        class Sums(nn.Module):
            def __init__(self, columns=(0, 1, 2)):
                super().__init__()
                self.columns = columns
                self.e = nn.ModuleList(nn.Sequential(nn.Linear(12, 8), nn.ReLU()) for _ in range(3))
                self.g = nn.ModuleList(nn.Linear(12, 3) for _ in range(2))
                self.t = nn.ModuleList(nn.Linear(8, 1) for _ in range(2))

            def forward(self, x):
                e = [m(x) for m in self.e]
                w0 = torch.softmax(self.g[0](x), dim=1)
                w1 = torch.softmax(self.g[1](x), dim=1)
                m0 = sum(w0[:, i:i + 1] * e[i] for i in self.columns)
                m1 = torch.zeros_like(e[0])
                for i in reversed(self.columns):
                    m1 = m1 + e[i] * w1[:, i].view(-1, 1)
                return torch.cat([torch.sigmoid(self.t[0](m0)), torch.sigmoid(self.t[1](m1))], dim=1)

        model = Sums().eval()
        arch = mmoe_export.export(model, self.x, self.prefix)
        self.assertEqual(ops(arch), {"dense": 7, "softmax": 2, "mixture": 2, "sigmoid": 2})
        self.check_files(model, arch, self.x)
        with self.assertRaises(ValueError) as ctx:
            mmoe_export.export(Sums(columns=(0, 2)).eval(), self.x, self.prefix)
        self.assertIn("weighted by columns [0, 2]", str(ctx.exception))
        self.assertIn("a mixture weighs one expert by each column", str(ctx.exception))

    def test_refusals_name_the_module_or_operation(self):
        class Bad(nn.Module):
            def __init__(self, body):
                super().__init__()
                self.body, self.head = body, nn.Linear(4, 1)

            def forward(self, x):
                return torch.sigmoid(self.head(self.body(x)))

        class Concat(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b, self.head = nn.Linear(12, 2), nn.Linear(12, 2), nn.Linear(4, 1)

            def forward(self, x):
                return self.head(torch.cat([self.a(x), self.b(x)], dim=1))

        cases = {
            "LayerNorm": Bad(nn.Sequential(nn.Linear(12, 4), nn.LayerNorm(4))),
            "must follow a Linear": Bad(nn.Sequential(nn.Linear(12, 4), nn.ReLU(), nn.BatchNorm1d(4))),
            "concatenating activations is not supported": Concat(),
            "dim=0": Bad(nn.Sequential(nn.Linear(12, 4), nn.Softmax(dim=0))),
        }
        for what, model in cases.items():
            with self.subTest(what=what):
                with self.assertRaises(ValueError) as ctx:
                    mmoe_export.export(model.eval(), self.x, self.prefix)
                self.assertIn(what, str(ctx.exception))
                self.assertIn("supported:", str(ctx.exception))
        self.assertFalse(os.path.exists(self.prefix + ".safetensors"))
        self.assertFalse(os.path.exists(self.prefix + ".arch.json"))

    def test_a_graph_that_differs_from_the_module_is_refused(self):
        model = randomized(ActivationMmoe(12, expert_dims=(10, 6)))
        saved = mmoe_trace._FUNCTIONS["tanh"]
        mmoe_trace._FUNCTIONS["tanh"] = lambda x, n: np.tanh(x) * 1.001  # a wrong mapping
        try:
            with self.assertRaises(ValueError) as ctx:
                mmoe_export.export(model, self.x, self.prefix)
        finally:
            mmoe_trace._FUNCTIONS["tanh"] = saved
        self.assertIn("differs from the model at tensor 'gate_hidden.0.tanh'", str(ctx.exception))
        self.assertFalse(os.path.exists(self.prefix + ".arch.json"))
        self.assertTrue(model.training is False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
