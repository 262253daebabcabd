"""Export a trained PyTorch Mixture-of-Experts model for `mmoe convert`.

Two outputs, both read by the C++ converter:

* ``<prefix>.safetensors`` -- the float32 weights and biases of every ``nn.Linear`` the
  architecture uses, under the key names PyTorch's ``state_dict()`` gives them
  (``experts.0.0.weight``, ``gating1_network.4.bias``, ``task2_head.2.weight``, ...).
* ``<prefix>.arch.json`` -- the architecture JSON described in ``docs/arch-json.md``: which
  tensors form which layer, each layer's activation, which gate mixes which experts, and which
  gate and tower serve each task.

The ``safetensors`` package is not required: :func:`write_safetensors` writes the format by
hand (it is only a length-prefixed JSON header followed by raw little-endian data).

Two ways in:

* :func:`export` traces ``forward()`` (torch.fx) and writes the graph form of the architecture
  JSON (version 2): any model of the family written in the usual styles (nn.Sequential or
  functional, several PLE levels, ESMM products), with BatchNorm folded and Dropout dropped.
  It runs the exported graph against the module and refuses to write if they differ.
* :func:`export_mmoe` reads the seed's attribute layout (or explicit lists of experts, gates and
  towers) and writes version 1.

Only numpy is needed to import this module; torch is imported when an export runs, so
:func:`write_safetensors` also works on a machine without torch.
"""

import json
import os
import struct
import tempfile

import numpy as np

__all__ = ["write_safetensors", "export", "export_mmoe", "inputs_for"]

# Alignment of the data section. The safetensors spec only requires the header length to be a
# multiple of 8 (so that the data starts 8-byte aligned); the header is padded with spaces.
_ALIGN = 8


# ---------------------------------------------------------------------------------------------
# safetensors writer
# ---------------------------------------------------------------------------------------------

def _to_f32_array(name, value):
    """Return ``value`` as a C-contiguous little-endian float32 numpy array.

    Accepts numpy arrays, torch tensors (any device, any floating dtype, with or without
    ``requires_grad``) and anything ``np.asarray`` understands. float32 input is passed
    through unchanged, so its bytes round-trip exactly.
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor, without importing torch
        t = value.detach().cpu()
        if str(t.dtype) != "torch.float32":
            if not (t.is_floating_point() or str(t.dtype).startswith("torch.int")
                    or str(t.dtype).startswith("torch.uint") or str(t.dtype) == "torch.bool"):
                raise ValueError("tensor %r has dtype %s, which cannot be stored as F32" % (name, t.dtype))
            t = t.float()  # also covers bfloat16/float16, which numpy cannot take directly
        value = t.contiguous().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise ValueError("tensor %r has dtype %s, which cannot be stored as F32" % (name, arr.dtype))
    # '<f4' is explicit little-endian float32: safetensors data is always little-endian.
    # (np.asarray rather than np.ascontiguousarray, which would turn a 0-d scalar into shape [1].)
    return np.asarray(arr, dtype="<f4", order="C")


def _atomic_write(path, chunks):
    """Write ``chunks`` (bytes-like objects) to ``path`` atomically.

    The data goes to a temporary file in the same directory (so ``os.replace`` is a rename on
    one filesystem) which replaces ``path`` only once it is complete and flushed: a crash or an
    exception never leaves a truncated file under the final name.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file 0600; give it the permissions a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_safetensors(path, tensors, metadata=None):
    """Write ``tensors`` to ``path`` in the safetensors format, every tensor as float32 ("F32").

    Args:
      path: output file name; written atomically (temporary file + ``os.replace``).
      tensors: mapping name -> numpy array or torch tensor. Tensors are stored contiguously in
        the mapping's iteration order. Non-float32 values are converted to float32.
      metadata: optional mapping of str -> str, stored as the header's ``__metadata__``.

    Layout: 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON header
    (padded with spaces so that 8 + N is a multiple of 8), then the raw data. Each header
    entry is ``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` with offsets
    relative to the start of the data section.
    """
    header = {}
    arrays = []
    offset = 0
    for name, value in tensors.items():
        if not isinstance(name, str) or not name:
            raise ValueError("tensor names must be non-empty strings, got %r" % (name,))
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot be a tensor name")
        arr = _to_f32_array(name, value)
        header[name] = {"dtype": "F32", "shape": [int(d) for d in arr.shape],
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        arrays.append(arr)
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError("safetensors metadata must map str to str, got %r: %r" % (k, v))
        header["__metadata__"] = dict(metadata)

    # Compact separators keep the header small; ensure_ascii=False keeps non-ASCII names readable.
    header_bytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header_bytes += b" " * (-(8 + len(header_bytes)) % _ALIGN)
    prefix = struct.pack("<Q", len(header_bytes))
    _atomic_write(path, [prefix, header_bytes] + [a.reshape(-1).view(np.uint8) for a in arrays])


# ---------------------------------------------------------------------------------------------
# Architecture extraction
# ---------------------------------------------------------------------------------------------

def _flatten(seq):
    """The leaf modules of ``seq`` in execution order (nested nn.Sequential are inlined)."""
    import torch.nn as nn
    out = []
    for m in seq.children():
        if isinstance(m, nn.Sequential):
            out.extend(_flatten(m))
        else:
            out.append(m)
    return out


def _walk_mlp(seq, what, module_names, final_allowed):
    """Turn an nn.Sequential into a list of arch-JSON layers.

    Every nn.Linear becomes a layer whose activation is "relu" if the next (non pass-through)
    module is nn.ReLU, else "none". Dropout and Identity are pass-through: they do nothing at
    inference time. ``final_allowed`` maps module classes that may appear once, as the last
    module, after the last Linear (Softmax for a gate, Sigmoid for a tower) to a check function.

    Returns (layers, linears, final_module_or_None).
    """
    import torch.nn as nn

    if not isinstance(seq, nn.Sequential):
        raise ValueError("%s must be an nn.Sequential, got %s" % (what, type(seq).__name__))
    mods = [m for m in _flatten(seq) if not isinstance(m, (nn.Dropout, nn.Identity))]
    layers, linears, final = [], [], None
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Linear):
            if id(m) not in module_names:
                raise ValueError("%s: a Linear layer is not a submodule of the model" % what)
            prefix = module_names[id(m)]
            layer = {"weight": prefix + ".weight"}
            if m.bias is not None:
                layer["bias"] = prefix + ".bias"
            act = "none"
            if i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU):
                act = "relu"
                i += 1  # the ReLU belongs to this layer
            layer["activation"] = act
            layers.append(layer)
            linears.append(m)
        elif isinstance(m, nn.ReLU):
            # A ReLU not directly after a Linear: at the start, or a second ReLU in a row.
            raise ValueError("%s: %s (ReLU) does not follow a Linear layer; only "
                             "Linear[-ReLU] blocks are supported" % (what, module_names.get(id(m), "?")))
        elif type(m) in final_allowed and i == len(mods) - 1 and linears:
            final_allowed[type(m)](m)
            final = m
        else:
            allowed = " or ".join(["Linear", "ReLU", "Dropout", "Identity"]
                                  + ["%s (last)" % c.__name__ for c in final_allowed])
            raise ValueError("%s: cannot map module %s (%s) to the runtime; supported: %s"
                             % (what, module_names.get(id(m), "?"), type(m).__name__, allowed))
        i += 1
    if not layers:
        raise ValueError("%s has no Linear layer" % what)
    return layers, linears, final


def _check_softmax(m):
    # Batches are [batch, features]: the gate softmax must run over the feature axis. dim=None
    # (deprecated implicit dim) also means dim 1 for 2-D input.
    if m.dim not in (1, -1, None):
        raise ValueError("gate Softmax must have dim=1 or dim=-1 (over experts), got dim=%r" % (m.dim,))


def _check_chain(what, linears, in_dim):
    """Check that consecutive Linear layers chain; return the MLP's output width."""
    for k, lin in enumerate(linears):
        if lin.in_features != in_dim:
            raise ValueError("%s: layer %d expects %d inputs but receives %d"
                             % (what, k, lin.in_features, in_dim))
        in_dim = lin.out_features
    return in_dim


def _format_json(value, indent=0):
    """JSON with one layer (or other flat object / list of scalars) per line.

    ``json.dumps(indent=2)`` would spread every layer over five lines; this keeps the file as
    readable as the example in docs/arch-json.md while staying plain, valid JSON.
    """
    def flat(v):
        if isinstance(v, dict):
            return all(not isinstance(x, (dict, list)) for x in v.values())
        if isinstance(v, list):
            return all(not isinstance(x, (dict, list)) for x in v)
        return True

    if flat(value):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        items = ["%s%s: %s" % (inner, json.dumps(k, ensure_ascii=False), _format_json(v, indent + 2))
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    items = [inner + _format_json(v, indent + 2) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + pad + "]"


def _graph_of(arch):
    """A version-1 architecture as the graph nodes the converter imports it into."""
    nodes = []

    def mlp(layers, x, prefix):
        for k, layer in enumerate(layers):
            out = "%s.%d" % (prefix, k)
            node = {"op": "dense", "input": x, "output": out, "weight": layer["weight"],
                    "activation": layer["activation"]}
            if "bias" in layer:
                node["bias"] = layer["bias"]
            nodes.append(node)
            x = out
        return x

    experts = [mlp(e["layers"], "input", "expert%d" % i) for i, e in enumerate(arch["experts"])]
    probs = []
    for g, gate in enumerate(arch["gates"]):
        logits = mlp(gate["layers"], "input", "gate%d" % g)
        nodes.append({"op": "softmax", "input": logits, "output": "gate%d.p" % g})
        probs.append("gate%d.p" % g)
    outputs = []
    for t, task in enumerate(arch["tasks"]):
        gate = arch["gates"][task["gate"]]
        nodes.append({"op": "mixture", "gate": probs[task["gate"]],
                      "experts": [experts[e] for e in gate["experts"]], "output": "mix%d" % t})
        logit = mlp(task["tower"]["layers"], "mix%d" % t, "tower%d" % t)
        if task["output"] == "sigmoid":
            nodes.append({"op": "sigmoid", "input": logit, "output": "score%d" % t})
            logit = "score%d" % t
        outputs.append(logit)
    return {"inputs": [{"name": "input"}], "nodes": nodes}, outputs


def _check_forward(model, arch, tensors, input_dim, rows=64, tolerance=1e-4):
    """When forward() takes [N, input_dim] feature rows and returns [N, tasks] scores, the
    exported architecture must reproduce them: a forward() that applies something the
    submodules do not show (a torch.sigmoid on the towers' logits, a scale) would otherwise be
    exported silently as a different model. Models whose forward() takes other inputs are not
    checked (export() traces forward() instead)."""
    import torch
    x = torch.rand(rows, input_dim, generator=torch.Generator().manual_seed(0))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            expect = model(x)
    except Exception:  # noqa: BLE001 - forward() takes something else: nothing to compare
        return
    finally:
        model.train(was_training)
    if not isinstance(expect, torch.Tensor) or tuple(expect.shape) != (rows, len(arch["tasks"])):
        return
    graph, outputs = _graph_of(arch)
    values = _run_graph(graph, {k: v.detach().cpu().numpy() for k, v in tensors.items()}, x.numpy())
    got = np.stack([values[o].reshape(-1) for o in outputs], axis=1)
    want = expect.double().numpy()
    # Relative to the score's size; rows where float32 overflowed (inf, NaN) say nothing.
    finite = np.isfinite(want)
    err = np.where(finite, np.abs(got - np.where(finite, want, 0.0)) / np.maximum(1.0, np.abs(np.where(finite, want, 0.0))),
                   0.0)
    diff = err.max(axis=0)
    for t, d in enumerate(diff):
        if not d <= tolerance:
            raise ValueError("task %d (%s): the exported architecture's scores differ from forward()'s by up to "
                             "%.3g; forward() computes something the experts, gates and towers do not show "
                             "(a sigmoid on the logits, a scale, ...): use mmoe_export.export(), which traces "
                             "forward()" % (t, arch["tasks"][t]["name"], d))


def _run_graph(graph, tensors, x):
    import mmoe_trace
    return mmoe_trace.run_graph(graph, tensors, x)


def _numbered_attrs(model, fmt):
    """model.<fmt % 1>, model.<fmt % 2>, ... until the first missing attribute."""
    out, t = [], 1
    while hasattr(model, fmt % t):
        out.append(getattr(model, fmt % t))
        t += 1
    return out


def _write(out_prefix, arch, tensors, metadata):
    """Writes ``out_prefix``.safetensors and .arch.json (the latter atomically); returns ``arch``."""
    meta = {"format": "pt", "producer": "mmoe_export"}
    if metadata:
        meta.update(metadata)
    directory = os.path.dirname(os.path.abspath(out_prefix))
    os.makedirs(directory, exist_ok=True)
    write_safetensors(out_prefix + ".safetensors", tensors, meta)
    text = _format_json(arch) + "\n"
    _atomic_write(out_prefix + ".arch.json", [text.encode("utf-8")])
    return arch


def export_mmoe(model, out_prefix, task_names=None, feature_names=None, name=None,
                experts=None, gates=None, towers=None, gate_experts=None, task_gates=None,
                metadata=None):
    """Write ``<out_prefix>.safetensors`` and ``<out_prefix>.arch.json`` for ``model``.

    By default the model is read like the seed: ``model.experts`` (nn.ModuleList of
    nn.Sequential), ``model.gating{t}_network`` and ``model.task{t}_head`` (nn.Sequential,
    t = 1, 2, ...); gate t serves task t and mixes all experts in order.

    Each nn.Sequential is walked: every nn.Linear is a layer, with activation "relu" if an
    nn.ReLU follows it, else "none"; Dropout/Identity are skipped (no-ops at inference). A gate
    must end with nn.Softmax(dim=1) (the runtime implies it); a tower ends with nn.Sigmoid
    (task output "sigmoid") or with its last Linear (output "identity"). Anything else --
    another activation, normalisation, a tower ending in ReLU -- raises ValueError rather than
    exporting a model the runtime would compute differently.

    Args:
      model: the trained nn.Module. Its weights are read from ``model.state_dict()``.
      out_prefix: output path without extension, e.g. ``"out/seed_mmoe"``.
      task_names: one name per task (default ``task1``, ``task2``, ...).
      feature_names: optional ``input_dim`` strings, stored in the JSON.
      name: model name (default: basename of ``out_prefix``).
      experts, gates, towers: optional explicit lists of nn.Sequential submodules of ``model``,
        for models that do not use the seed's attribute names.
      gate_experts: optional list, per gate, of the expert indices its softmax mixes (in the
        order of its logits). Default: all experts.
      task_gates: optional list, per task, of the gate index the task reads (default: task t
        uses gate t). Several tasks may share a gate (MoE).
      metadata: optional extra str -> str entries for the safetensors ``__metadata__``.

    Returns:
      The architecture dict that was written to ``<out_prefix>.arch.json``.
    """
    import torch.nn as nn

    if not isinstance(model, nn.Module):
        raise ValueError("model must be a torch.nn.Module, got %s" % type(model).__name__)

    # Qualified names of every submodule: the Linear layers' tensor keys are '<name>.weight'.
    module_names = {id(m): n for n, m in model.named_modules()}

    if experts is None:
        if not hasattr(model, "experts"):
            raise ValueError("model has no 'experts' attribute; pass experts=[...] explicitly")
        experts = list(model.experts)
    if gates is None:
        gates = _numbered_attrs(model, "gating%d_network")
    if towers is None:
        towers = _numbered_attrs(model, "task%d_head")
    experts, gates, towers = list(experts), list(gates), list(towers)
    if not experts:
        raise ValueError("model has no experts")
    if not gates:
        raise ValueError("model has no gates (expected gating1_network, ...); pass gates=[...]")
    if not towers:
        raise ValueError("model has no task towers (expected task1_head, ...); pass towers=[...]")

    n_tasks = len(towers)
    if task_gates is None:
        if len(gates) != n_tasks:
            raise ValueError("%d gates but %d towers: pass task_gates to say which gate each task "
                             "uses" % (len(gates), n_tasks))
        task_gates = list(range(n_tasks))
    task_gates = [int(g) for g in task_gates]
    if len(task_gates) != n_tasks or any(not 0 <= g < len(gates) for g in task_gates):
        raise ValueError("task_gates must list, per task, a gate index in [0, %d)" % len(gates))
    if task_names is None:
        task_names = ["task%d" % (t + 1) for t in range(n_tasks)]
    task_names = [str(s) for s in task_names]
    if len(task_names) != n_tasks:
        raise ValueError("%d task names for %d tasks" % (len(task_names), n_tasks))
    if len(set(task_names)) != n_tasks:
        raise ValueError("task names must be distinct: %r" % (task_names,))
    if gate_experts is None:
        gate_experts = [list(range(len(experts))) for _ in gates]
    gate_experts = [[int(e) for e in ge] for ge in gate_experts]
    if len(gate_experts) != len(gates):
        raise ValueError("gate_experts has %d entries for %d gates" % (len(gate_experts), len(gates)))
    for g, ge in enumerate(gate_experts):
        if not ge or len(set(ge)) != len(ge) or any(not 0 <= e < len(experts) for e in ge):
            raise ValueError("gate %d: experts %r must be distinct indices in [0, %d)"
                             % (g, ge, len(experts)))

    used = []  # every exported Linear, to collect exactly the tensors the JSON names

    # Experts: all read the input and must end at the same width (the towers' input).
    input_dim = None
    expert_json, expert_dim = [], None
    for e, seq in enumerate(experts):
        what = "expert %d" % e
        layers, linears, _ = _walk_mlp(seq, what, module_names, {})
        if input_dim is None:
            input_dim = linears[0].in_features
        out = _check_chain(what, linears, input_dim)
        if expert_dim is None:
            expert_dim = out
        elif out != expert_dim:
            raise ValueError("expert %d outputs %d values but expert 0 outputs %d; all experts "
                             "must end at the same width" % (e, out, expert_dim))
        expert_json.append({"layers": layers})
        used.extend(linears)

    # Gates: read the input; one logit per mixed expert, then an (implied) softmax.
    gate_json = []
    for g, seq in enumerate(gates):
        what = "gate %d" % g
        layers, linears, final = _walk_mlp(seq, what, module_names, {nn.Softmax: _check_softmax})
        if final is None:
            raise ValueError("%s must end with nn.Softmax(dim=1): the runtime always applies the "
                             "gate softmax" % what)
        if layers[-1]["activation"] != "none":
            raise ValueError("%s: the last Linear must feed the Softmax directly" % what)
        out = _check_chain(what, linears, input_dim)
        if out != len(gate_experts[g]):
            raise ValueError("%s outputs %d logits but mixes %d experts %r"
                             % (what, out, len(gate_experts[g]), gate_experts[g]))
        gate_json.append({"experts": gate_experts[g], "layers": layers})
        used.extend(linears)

    # Towers: read the gate-weighted expert mixture; one output, then sigmoid or identity.
    task_json = []
    for t, seq in enumerate(towers):
        what = "tower %d (%s)" % (t, task_names[t])
        layers, linears, final = _walk_mlp(seq, what, module_names, {nn.Sigmoid: lambda m: None})
        if layers[-1]["activation"] != "none":
            raise ValueError("%s ends with a ReLU; the runtime supports a final Sigmoid or no "
                             "activation" % what)
        out = _check_chain(what, linears, expert_dim)
        if out != 1:
            raise ValueError("%s outputs %d values; a tower must output exactly 1" % (what, out))
        task_json.append({"name": task_names[t], "gate": task_gates[t],
                          "tower": {"layers": layers},
                          "output": "sigmoid" if final is not None else "identity"})
        used.extend(linears)

    if len(set(map(id, used))) != len(used):
        raise ValueError("the same Linear module is used twice (shared layers are not supported)")

    # Parameters outside the exported layers would be silently dropped, yet forward() may use
    # them (an embedding, a BatchNorm, a learned scale): refuse rather than export a model the
    # runtime would compute differently.
    used_params = {id(p) for lin in used for p in lin.parameters()}
    stray = [n for n, p in model.named_parameters() if id(p) not in used_params]
    if stray:
        raise ValueError("parameters outside the experts/gates/towers cannot be exported: %s"
                         % ", ".join(stray[:8]) + (" ..." if len(stray) > 8 else ""))

    if feature_names is not None:
        feature_names = [str(f) for f in feature_names]
        if len(feature_names) != input_dim:
            raise ValueError("%d feature names for input_dim %d" % (len(feature_names), input_dim))

    if name is None:
        name = os.path.basename(out_prefix)

    # Tensors in state_dict order (the order PyTorch itself would save them), keeping only the
    # ones the architecture names: the converter rejects unused tensors.
    wanted = set()
    for lin in used:
        prefix = module_names[id(lin)]
        wanted.add(prefix + ".weight")
        if lin.bias is not None:
            wanted.add(prefix + ".bias")
    state = model.state_dict()
    missing = wanted - set(state)
    if missing:
        raise ValueError("tensors not in model.state_dict(): %s" % ", ".join(sorted(missing)))
    tensors = {k: v for k, v in state.items() if k in wanted}
    for k, v in tensors.items():
        if not bool(v.detach().float().isfinite().all()):
            raise ValueError("tensor %s contains NaN or infinity" % k)

    arch = {"format": "mmoe-arch", "version": 1, "name": name, "input_dim": input_dim}
    if feature_names is not None:
        arch["feature_names"] = feature_names
    arch["experts"] = expert_json
    arch["gates"] = gate_json
    arch["tasks"] = task_json

    _check_forward(model, arch, tensors, input_dim)

    return _write(out_prefix, arch, tensors, metadata)


# ---------------------------------------------------------------------------------------------
# Export by tracing
# ---------------------------------------------------------------------------------------------

def export(model, example_inputs, out_prefix, task_names=None, feature_names=None, name=None,
           metadata=None, tolerance=1e-4):
    """Trace ``model`` and write ``<out_prefix>.safetensors`` and ``<out_prefix>.arch.json``.

    ``forward()`` is followed with torch.fx on ``example_inputs`` in eval mode; every operation
    must map onto the runtime's graph (see mmoe_trace.py for what does). The exported float
    graph is then computed with numpy on the same inputs and compared, tensor by tensor in graph
    order, with what the module computed: if one differs by more than ``tolerance`` (relative to
    the tensor's largest magnitude when that is above 1), nothing is written and ValueError
    names the tensor.

    ``example_inputs`` is what forward() takes:

    * one [N, features] float tensor (the model's one input, named ``input``);
    * a tuple of tensors, one per argument of forward(): float [N] or [N, k] are dense
      features, integer [N] ids and integer [N, L] bags, each input named as the argument;
    * a dict of such tensors by name (torch-rechub's models, or a module reading ``x["name"]``);
    * for a DeepCTR-Torch model, its one float X ([N, columns], laid out by ``feature_index``)
      or a dict of arrays by feature name, as its ``predict`` takes: the exported model then
      takes each feature by name.

    :func:`inputs_for` gives the exported model's inputs for such examples, to save with
    ``numpy.savez`` for ``mmoe convert --calib`` and ``mmoe score --input``.

    Args:
      model: the trained nn.Module; its train/eval mode is restored afterwards.
      example_inputs: rows the check runs on (a few hundred real rows are best).
      out_prefix: output path without extension.
      task_names: one per returned score (default: the keys of a returned dict, else task1, ...).
      feature_names: optional, one per column of a model with one dense input.
      name: model name (default: basename of out_prefix).
      metadata: optional extra str -> str entries for the safetensors ``__metadata__``.

    Returns:
      The architecture dict written to ``<out_prefix>.arch.json``.
    """
    import torch
    import mmoe_features
    import mmoe_trace

    if not isinstance(model, torch.nn.Module):
        raise ValueError("model must be a torch.nn.Module, got %s" % type(model).__name__)
    layers = mmoe_features.feature_layers(model)
    args = _example_args(model, example_inputs, layers)
    was_training = model.training
    model.eval()
    try:
        inputs, nodes, tensors, outputs, torch_values, input_values = mmoe_trace.trace(
            model, args, task_names, layers=layers)
        with torch.no_grad():
            expect = model(*args)
    finally:
        model.train(was_training)
    for k, v in tensors.items():
        if not np.isfinite(v).all():
            raise ValueError("tensor %s contains NaN or infinity" % k)
    if name is None:
        name = os.path.basename(out_prefix)
    if feature_names is not None:
        dense = [i for i in inputs if "width" in i]
        if len(inputs) != 1 or not dense:
            raise ValueError("feature_names names the columns of a model with one dense input; this one has %d "
                             "inputs" % len(inputs))
        feature_names = [str(f) for f in feature_names]
        if len(feature_names) != dense[0]["width"]:
            raise ValueError("%d feature names for %d input features" % (len(feature_names), dense[0]["width"]))
        dense[0]["feature_names"] = feature_names
    arch = {"format": "mmoe-arch", "version": 2, "name": name, "inputs": inputs, "nodes": nodes,
            "outputs": [{"name": n, "tensor": t} for n, t in outputs]}

    # The exported graph against the module, tensor by tensor, then the scores forward() returns.
    ours = mmoe_trace.run_graph(arch, tensors, input_values)
    rows = next(iter(input_values.values())).shape[0]
    for tensor in [i["name"] for i in inputs] + [n["output"] for n in nodes]:
        if tensor not in torch_values:
            continue
        theirs = torch_values[tensor]
        if ours[tensor].size != theirs.size:
            raise ValueError("the exported graph's tensor %r has shape %s, the model's %s"
                             % (tensor, ours[tensor].shape, theirs.shape))
        mine = ours[tensor].reshape(theirs.shape)
        diff = float(np.max(np.abs(mine - theirs))) if theirs.size else 0.0
        scale = max(1.0, float(np.max(np.abs(theirs))) if theirs.size else 1.0)
        if not diff <= tolerance * scale:
            raise ValueError("the exported graph differs from the model at tensor %r: max |difference| %.3g "
                             "(tolerance %.3g); this operation is not the one the runtime computes"
                             % (tensor, diff, tolerance * scale))
    if isinstance(expect, dict):
        expect = list(expect.values())
    if isinstance(expect, (list, tuple)):
        expect = torch.cat([e.reshape(e.shape[0], -1) for e in expect], dim=1)
    expect = expect.detach().double().numpy().reshape(rows, -1)
    got = np.stack([ours[t].reshape(-1) for _, t in outputs], axis=1)
    if expect.shape != got.shape or not np.max(np.abs(expect - got)) <= tolerance:
        raise ValueError("the exported graph's scores differ from forward()'s")

    return _write(out_prefix, arch, tensors, metadata)


def _example_args(model, example_inputs, layers):
    """forward()'s positional arguments for ``example_inputs``, checked."""
    import torch
    if layers is not None:
        return layers.examples(example_inputs)
    args = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    if not args:
        raise ValueError("example_inputs holds no tensor")

    def tensor(v, what):
        if isinstance(v, torch.Tensor):
            t = v
        else:
            t = torch.as_tensor(np.asarray(v))
        if t.dim() not in (1, 2) or t.shape[0] == 0:
            raise ValueError("%s must be [rows] or [rows, k] with rows > 0, got shape %s" % (what, tuple(t.shape)))
        return t.float() if t.dtype.is_floating_point else t

    out = []
    for i, a in enumerate(args):
        if isinstance(a, dict):
            out.append({k: tensor(v, "example input %r" % k) for k, v in a.items()})
        else:
            out.append(tensor(a, "example input %d" % i))
    return tuple(out)


def inputs_for(model, example_inputs):
    """The inputs of ``model``'s export for ``example_inputs`` (what :func:`export` takes), by
    input name: int64 [N] ids, int64 [N, L] bags, float32 [N] or [N, k] dense features -- what
    ``numpy.savez`` writes for ``mmoe convert --calib`` and ``mmoe score --input``. Only the
    inputs the model reads are returned (torch-rechub's ESMM, for one, drops dense features)."""
    import mmoe_features
    import mmoe_trace
    layers = mmoe_features.feature_layers(model)
    args = _example_args(model, example_inputs, layers)
    was_training = model.training
    model.eval()
    try:
        values = mmoe_trace.trace(model, args, layers=layers)[5]
    finally:
        model.train(was_training)
    return {k: v.astype(np.int64) if v.dtype.kind in "iu" else v.astype(np.float32) for k, v in values.items()}
