#!/usr/bin/env python3
"""Writes the files of tests/data/sparse/: a random MMoE on sparse features as DeepCTR-Torch
lays it out (embedding_dict.<feature>.weight tables, the experts, gates and towers reading the
embeddings and dense features side by side), its architecture JSON (version 2), and inputs by
name: calib.npz and eval.npz (np.savez: stored, which builds without zlib read too) and eval.csv (the same rows).

Needs numpy only: /usr/bin/python3 tests/data/sparse/make_sparse.py
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "converter", "python"))
import mmoe_export  # noqa: E402  (write_safetensors needs no torch)

rng = np.random.default_rng(15)
tensors = {}


def table(name, rows, dim, padding_row=False):
    t = rng.normal(0.0, 0.3, (rows, dim)).astype(np.float32)
    if padding_row:
        t[0] = 0.0
    tensors["embedding_dict.%s.weight" % name] = t


def linear(name, n_in, n_out, gain=2.0):
    bound = gain / np.sqrt(n_in)
    tensors[name + ".weight"] = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
    tensors[name + ".bias"] = rng.uniform(-bound, bound, n_out).astype(np.float32)


table("user_id", 200, 8)
table("item_id", 300, 8)
table("genres", 20, 4, padding_row=True)
EMB = 8 + 8 + 4
DENSE = ["age", "price", "hour"]
WIDTH = EMB + len(DENSE)
nodes = [
    {"op": "embedding", "input": "user_id", "output": "user_id.emb", "table": "embedding_dict.user_id.weight"},
    {"op": "embedding", "input": "item_id", "output": "item_id.emb", "table": "embedding_dict.item_id.weight"},
    {"op": "embedding", "input": "genres", "output": "genres.emb", "table": "embedding_dict.genres.weight",
     "pooling": "mean", "padding_id": 0},
    {"op": "concat", "inputs": ["user_id.emb", "item_id.emb", "genres.emb", "dense"], "output": "dnn_input"},
]
for e in range(3):
    linear("experts.%d.0" % e, WIDTH, 16)
    linear("experts.%d.1" % e, 16, 8)
    nodes.append({"op": "dense", "input": "dnn_input", "output": "experts.%d.0" % e, "weight": "experts.%d.0.weight" % e,
                  "bias": "experts.%d.0.bias" % e, "activation": "relu"})
    nodes.append({"op": "dense", "input": "experts.%d.0" % e, "output": "experts.%d.1" % e,
                  "weight": "experts.%d.1.weight" % e, "bias": "experts.%d.1.bias" % e, "activation": "relu"})
outputs = []
for t, task in enumerate(["ctr", "like"]):
    linear("gates.%d" % t, WIDTH, 3, gain=3.0)
    linear("towers.%d.0" % t, 8, 6)
    linear("towers.%d.1" % t, 6, 1)
    nodes += [
        {"op": "dense", "input": "dnn_input", "output": "gates.%d" % t, "weight": "gates.%d.weight" % t,
         "bias": "gates.%d.bias" % t},
        {"op": "softmax", "input": "gates.%d" % t, "output": "gates.%d.softmax" % t},
        {"op": "mixture", "gate": "gates.%d.softmax" % t, "experts": ["experts.%d.1" % e for e in range(3)],
         "output": "mix.%d" % t},
        {"op": "dense", "input": "mix.%d" % t, "output": "towers.%d.0" % t, "weight": "towers.%d.0.weight" % t,
         "bias": "towers.%d.0.bias" % t, "activation": "relu"},
        {"op": "dense", "input": "towers.%d.0" % t, "output": "towers.%d.1" % t, "weight": "towers.%d.1.weight" % t,
         "bias": "towers.%d.1.bias" % t},
        {"op": "sigmoid", "input": "towers.%d.1" % t, "output": task},
    ]
    outputs.append(task)
arch = {"format": "mmoe-arch", "version": 2, "name": "sparse_mmoe",
        "inputs": [{"name": "user_id", "kind": "ids"}, {"name": "item_id", "kind": "ids"},
                   {"name": "genres", "kind": "bag"}, {"name": "dense", "width": 3, "feature_names": DENSE}],
        "nodes": nodes, "outputs": outputs}
mmoe_export.write_safetensors(os.path.join(HERE, "sparse_mmoe.safetensors"), tensors)
with open(os.path.join(HERE, "sparse_mmoe.arch.json"), "w") as f:
    json.dump(arch, f, indent=1)
    f.write("\n")


def rows(n):
    genres = rng.integers(1, 20, (n, 4))
    lengths = rng.integers(0, 5, n)
    genres[np.arange(4)[None, :] >= lengths[:, None]] = 0  # padded to 4 with id 0
    dense = np.stack([rng.integers(18, 80, n) / 80.0, rng.random(n) ** 2, rng.integers(0, 24, n) / 23.0], 1)
    return {"user_id": rng.integers(0, 200, n), "item_id": rng.integers(0, 300, n).astype(np.int32),
            "genres": genres, "dense": np.round(dense, 4).astype(np.float32)}


np.savez(os.path.join(HERE, "calib.npz"), **rows(600))
ev = rows(200)
np.savez(os.path.join(HERE, "eval.npz"), **ev)
with open(os.path.join(HERE, "eval.csv"), "w") as f:
    f.write("user_id,item_id,genres,age,price,hour\n")
    for i in range(200):
        bag = " ".join(str(g) for g in ev["genres"][i])
        f.write("%d,%d,%s,%s\n" % (ev["user_id"][i], ev["item_id"][i], bag,
                                   ",".join(repr(float(v)) for v in ev["dense"][i])))
