"""Whether 4-bit embedding tables pay: the float models of examples/sparse scored on eval.npz
with their tables rounded row-wise to 8 and to 4 bits (FBGEMM-style: per row a scale and an
offset, codes 0..255 or 0..15), against the float tables; everything else in float.

Run:  /usr/bin/python3 examples/sparse/table_bits.py      (numpy only)
"""

import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "converter", "python"))
import mmoe_trace  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])
    return out


def rowwise(table, bits):
    levels = (1 << bits) - 1
    lo = table.min(axis=1, keepdims=True)
    scale = (table.max(axis=1, keepdims=True) - lo) / levels
    codes = np.clip(np.rint((table - lo) / np.where(scale > 0, scale, 1)), 0, levels)
    return (codes * scale + lo).astype(np.float32)


def auc(y, p):
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y > 0.5
    return (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())


def main():
    x = dict(np.load(os.path.join(HERE, "eval.npz")))
    labels = np.load(os.path.join(HERE, "eval_labels.npy"))
    print("| model | table bits | bytes per row (dim 8) | remote mean \\|Δp\\| | ΔAUC | salary mean \\|Δ\\| |")
    print("|---|---:|---:|---:|---:|---:|")
    for stem in ("deepctr_mmoe", "deepctr_ple", "rechub_mmoe", "rechub_ple"):
        with open(os.path.join(HERE, stem + ".arch.json")) as f:
            arch = json.load(f)
        tensors = read_safetensors(os.path.join(HERE, stem + ".safetensors"))
        tables = {n["table"] for n in arch["nodes"] if n["op"] == "embedding"}

        def scores(t):
            v = mmoe_trace.run_graph(arch, t, x)
            return np.stack([v[o["tensor"]].reshape(-1) for o in arch["outputs"]], axis=1)

        exact = scores(tensors)
        for bits in (8, 4):
            rounded = dict(tensors)
            rounded.update({k: rowwise(tensors[k], bits) for k in tables})
            s = scores(rounded)
            print("| %s | %d | %d | %.5f | %+.5f | %.5f |" % (
                stem, bits, 8 * bits // 8 + 8, np.abs(s[:, 0] - exact[:, 0]).mean(),
                auc(labels[:, 0], s[:, 0]) - auc(labels[:, 0], exact[:, 0]), np.abs(s[:, 1] - exact[:, 1]).mean()))


if __name__ == "__main__":
    main()
