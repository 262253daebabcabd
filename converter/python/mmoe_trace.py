"""Tracing a PyTorch model into mmoe-edge's graph (architecture JSON version 2).

:func:`trace` follows what ``forward`` computes with ``torch.fx`` (Debian's torch 1.13) and
maps every operation onto the nodes the model file stores: dense layers (``nn.Linear``, with
eval-mode ``BatchNorm1d`` and scalar biases folded in and a following ReLU fused),
elementwise activations, gate softmaxes, mixtures (``(w.unsqueeze(-1) * e).sum(1)``,
``torch.matmul(w.unsqueeze(1), e)``, ``torch.bmm``, with the experts stacked by
``torch.stack`` or concatenated ``unsqueeze(1)`` outputs), sigmoids and products of task
scores (ESMM). Dropout and Identity are dropped. Anything else raises ValueError naming the
module or the operation and what is supported.

:func:`run_graph` computes an exported graph with numpy alone: :func:`mmoe_export.export` runs
it against the module on the example inputs and refuses an export whose tensors differ.
"""

import operator

import numpy as np

__all__ = ["trace", "run_graph"]

# Elementwise functions: name in the architecture JSON -> numpy implementation (float64).
# Each takes (x, node) where node holds the function's parameters.


def _softplus(x, beta, threshold):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(np.minimum(beta * x, threshold))) / beta)


_FUNCTIONS = {
    "relu": lambda x, n: np.maximum(x, 0.0),
    "leaky_relu": lambda x, n: np.where(x >= 0, x, x * n.get("slope", 0.01)),
    "sigmoid": lambda x, n: 1.0 / (1.0 + np.exp(-x)),
    "tanh": lambda x, n: np.tanh(x),
    "silu": lambda x, n: x / (1.0 + np.exp(-x)),
    "elu": lambda x, n: np.where(x > 0, x, n.get("alpha", 1.0) * np.expm1(np.minimum(x, 0))),
    "selu": lambda x, n: 1.0507009873554804934193349852946 * np.where(
        x > 0, x, 1.6732632423543772848170429916717 * np.expm1(np.minimum(x, 0))),
    "relu6": lambda x, n: np.clip(x, 0.0, 6.0),
    "hardtanh": lambda x, n: np.clip(x, n.get("min", -1.0), n.get("max", 1.0)),
    "hardsigmoid": lambda x, n: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "hardswish": lambda x, n: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
    "softplus": lambda x, n: _softplus(x, n.get("beta", 1.0), n.get("threshold", 20.0)),
    "mish": lambda x, n: x * np.tanh(_softplus(x, 1.0, 20.0)),
    "gelu_tanh": lambda x, n: 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))),
}


def _gelu(x, n):
    from math import erf, sqrt
    return 0.5 * x * (1.0 + np.vectorize(erf)(x / sqrt(2.0)))


_FUNCTIONS["gelu"] = _gelu


def _embedding(node, table, ids):
    """nn.Embedding / nn.EmbeddingBag as the runtime computes them: the id's row; or the sum or
    mean of a bag's rows ([N, L] ids), padding ids left out, zeros for a bag of padding only."""
    table = np.asarray(table, dtype=np.float64)
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise ValueError("embedding %s: an id is outside the table's %d rows" % (node["output"], table.shape[0]))
    pooling = node.get("pooling", "none")
    if pooling == "none":
        return table[ids.reshape(-1)]
    keep = np.ones(ids.shape, dtype=bool) if "padding_id" not in node else ids != node["padding_id"]
    total = (table[ids] * keep[:, :, None]).sum(axis=1)
    if pooling == "sum":
        return total
    return total / np.maximum(keep.sum(axis=1, keepdims=True), 1)


def run_graph(arch, tensors, x):
    """Every tensor of a version-2 architecture on the inputs ``x``: [N, width] rows for a model
    of one dense input, or a dict of arrays by input name (ids [N], bags [N, L], dense [N] or
    [N, k]), in float64.

    Returns a dict tensor name -> [N, width] array, with the runtime's float semantics (which
    its float reference, converter/src/float_reference.cpp, shares).
    """
    if isinstance(x, dict):
        values = {}
        for inp in arch["inputs"]:
            a = np.asarray(x[inp["name"]])
            values[inp["name"]] = a.astype(np.int64) if inp.get("kind", "dense") != "dense" else \
                a.astype(np.float64).reshape(a.shape[0], -1)
    else:
        values = {arch["inputs"][0]["name"]: np.asarray(x, dtype=np.float64)}
    for node in arch["nodes"]:
        op = node["op"]
        if op == "embedding":
            y = _embedding(node, tensors[node["table"]], values[node["input"]])
        elif op == "concat":
            y = np.concatenate([values[t] for t in node["inputs"]], axis=1)
        elif op == "dense":
            w = np.asarray(tensors[node["weight"]], dtype=np.float64)
            y = values[node["input"]] @ w.T
            if "bias" in node:
                y = y + np.asarray(tensors[node["bias"]], dtype=np.float64)
            if node.get("activation", "none") == "relu":
                y = np.maximum(y, 0.0)
        elif op == "activation":
            a = values[node["input"]]
            if node["function"] == "prelu":
                slope = np.asarray(tensors[node["weight"]], dtype=np.float64)
                y = np.where(a >= 0, a, a * slope)
            else:
                y = _FUNCTIONS[node["function"]](a, node)
        elif op == "softmax":
            z = values[node["input"]]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            y = e / e.sum(axis=1, keepdims=True)
        elif op == "mixture":
            experts = [values[e] for e in node["experts"]]
            if "gate" in node:
                p = values[node["gate"]]
                y = sum(p[:, j:j + 1] * e for j, e in enumerate(experts))
            else:
                y = sum(experts)
        elif op == "sigmoid":
            y = 1.0 / (1.0 + np.exp(-values[node["input"]]))
        elif op == "product":
            y = values[node["inputs"][0]]
            for t in node["inputs"][1:]:
                y = y * values[t]
        else:
            raise ValueError("unknown op %r" % op)
        values[node["output"]] = y
    return values


# ---------------------------------------------------------------------------------------------
# Symbolic values: what each torch.fx node computes, in terms of the graph being built.
# ---------------------------------------------------------------------------------------------

class _Feat:
    """A [B, width] tensor of the graph (or [B] when ``flat``: a score squeezed to one axis)."""

    def __init__(self, name, width, flat=False):
        self.name, self.width, self.flat = name, width, flat


class _Unsq:
    """A graph tensor with a unit axis: dim 1 is [B, 1, w], dim 2 is [B, w, 1]."""

    def __init__(self, feat, dim):
        self.feat, self.dim = feat, dim


class _Stack:
    """[B, n, w]: tensors of one width stacked on axis 1 (the experts a gate mixes)."""

    def __init__(self, feats):
        self.feats = feats


class _Weighted:
    """[B, n, w]: probabilities [B, n, 1] times a stack; summed over axis 1, a mixture."""

    def __init__(self, probs, stack):
        self.probs, self.stack = probs, stack


class _Param:
    """A module's parameter or buffer (a constant)."""

    def __init__(self, value, name):
        self.value, self.name = value, name


class _Zero:
    """A tensor of zeros (torch.zeros, zeros_like): where a sum of weighted experts starts."""


class _ProbCol:
    """Column ``index`` of a gate's probabilities: [B] (``keep`` false) or [B, 1]."""

    def __init__(self, probs, index, keep):
        self.probs, self.index, self.keep = probs, index, keep


class _Terms:
    """A sum of experts weighted by columns of one gate's probabilities ([B, w]), accumulated
    term by term as the seed article's forward() does; a mixture once it is read."""

    def __init__(self, terms, fx_node):
        self.terms, self.fx_node, self.feat = terms, fx_node, None


class _Ids:
    """An integer input of the model: one id per item (kind "ids", [B]) or a bag of ids padded
    to a common length (kind "bag", [B, L])."""

    def __init__(self, name, kind):
        self.name, self.kind = name, kind


class _Inputs:
    """forward()'s dict of inputs: ``x["name"]`` is that input (made an input of the graph when
    first read)."""

    def __init__(self, values):
        self.values = values


class _RawColumns:
    """A DeepCTR-Torch model's one float X, whose columns hold every feature: only its
    feature-column layer reads it (mmoe_features builds that layer's nodes)."""


class _SeqEmb:
    """[B, L, D]: an nn.Embedding's rows for a bag, before it is pooled over axis 1."""

    def __init__(self, ids, table, weight):
        self.ids, self.table, self.weight = ids, table, weight


class _Cat:
    """Tensors side by side on the feature axis ([B, sum of widths]): embeddings and float
    inputs, a concat node once a layer reads it; or task scores, when forward() returns it."""

    def __init__(self, parts, fx_node, label="concat"):
        self.parts, self.fx_node, self.label, self.feat = parts, fx_node, label, None


class _Group:
    """[B, F, D]: embeddings stacked on axis 1 (torch-rechub's squeeze_dim=False); flattened
    to [B, F * D], a concat."""

    def __init__(self, parts, fx_node):
        self.parts, self.fx_node = parts, fx_node


def _value_tracer():
    """A torch.fx tracer whose proxies also carry the example's values, so that forward() may
    read concrete shapes (``batch_size, _ = x.shape``, as the seed article does) and create
    tensors from them; those become constants of the traced graph.

    ``examples`` holds one value per placeholder of forward(), in order. ``leaves`` maps a
    predicate on a submodule to a function ``(tracer, module, path, args, kwargs) -> value``
    that records the call in the graph its own way (feature-column layers, whose arguments
    torch.fx cannot store); ``autowrap`` lists plain functions recorded as one call each."""
    import torch
    import torch.fx as fx

    class ValueProxy(fx.Proxy):
        def __getattr__(self, k):
            value = self.node.meta.get("value")
            if value is not None and k in ("shape", "size", "dim", "ndim"):
                return getattr(value, k)
            return super().__getattr__(k)

    class ValueTracer(fx.Tracer):
        def __init__(self, examples, leaves=(), autowrap=()):
            super().__init__(autowrap_functions=tuple(autowrap))
            self.examples, self.concrete, self.leaves, self.placeholders = list(examples), False, list(leaves), 0

        def proxy(self, node):
            return ValueProxy(node, self)

        def getattr(self, attr, attr_val, parameter_proxy_cache):
            return attr_val if self.concrete else super().getattr(attr, attr_val, parameter_proxy_cache)

        def call_module(self, m, forward, args, kwargs):
            if self.concrete:  # computing a value, not tracing
                return forward(*args, **kwargs)
            for accepts, record in self.leaves:
                if accepts(m):
                    return record(self, m, self.path_of_module(m), args, kwargs)
            return super().call_module(m, forward, args, kwargs)

        def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None):
            p = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)

            # Copies, so that an in-place operation run here changes neither an earlier value
            # nor a constant the graph holds.
            def value(v):
                v = v.node.meta.get("value") if isinstance(v, fx.Proxy) else v
                return v.clone() if isinstance(v, torch.Tensor) else v

            a, k = fx.node.map_aggregate(args, value), fx.node.map_aggregate(kwargs, value)
            self.concrete = True
            try:
                with torch.no_grad():
                    if kind == "placeholder":
                        v = self.examples[self.placeholders] if self.placeholders < len(self.examples) else None
                        self.placeholders += 1
                    elif kind == "get_attr":
                        v = self.root
                        for part in target.split("."):
                            v = getattr(v, part)
                    elif kind == "call_module":
                        v = self.root.get_submodule(target).forward(*a, **k)
                    elif kind == "call_method":
                        v = getattr(a[0], target)(*a[1:], **k)
                    else:
                        v = target(*a, **k)
                p.node.meta["value"] = v
            except Exception:  # noqa: BLE001 - a value we cannot compute is a shape we cannot read
                pass
            finally:
                self.concrete = False
            return p

    return ValueTracer


_SUPPORTED = ("supported: nn.Linear; nn.BatchNorm1d right after a Linear (eval mode, folded); Dropout and Identity "
              "(dropped); F.linear with a module's parameters; activations relu, leaky_relu, prelu, gelu (erf or tanh), silu, sigmoid, tanh, elu, selu, "
              "relu6, hardtanh, hardsigmoid, hardswish, softplus, mish (modules or functions); softmax over the "
              "features; torch.stack / torch.cat of unsqueeze(1) experts, weighted by probabilities with "
              "(w.unsqueeze(-1) * e).sum(1) or torch.matmul / bmm(w.unsqueeze(1), e), or summed term by term "
              "(torch.zeros(...) += e_i * w[:, i].unsqueeze(1), or w[:, i:i + 1]); a scalar added to a Linear's "
              "output; products of task scores; torch.cat of task scores as the output; nn.Embedding on integer "
              "inputs ([batch] ids, or [batch, L] bags then .sum(1) / .mean(1)), nn.EmbeddingBag (sum, mean, "
              "padding_idx) on [batch, L] ids, torch.cat of embeddings and float inputs; the feature layers of "
              "DeepCTR-Torch and torch-rechub")

_ACTIVATION_MODULES = {
    "ReLU": ("relu", lambda m: {}),
    "LeakyReLU": ("leaky_relu", lambda m: {"slope": float(m.negative_slope)}),
    "Sigmoid": ("sigmoid", lambda m: {}),
    "Tanh": ("tanh", lambda m: {}),
    "SiLU": ("silu", lambda m: {}),
    "ELU": ("elu", lambda m: {"alpha": float(m.alpha)}),
    "SELU": ("selu", lambda m: {}),
    "ReLU6": ("relu6", lambda m: {}),
    "Hardtanh": ("hardtanh", lambda m: {"min": float(m.min_val), "max": float(m.max_val)}),
    "Hardsigmoid": ("hardsigmoid", lambda m: {}),
    "Hardswish": ("hardswish", lambda m: {}),
    "Softplus": ("softplus", lambda m: {"beta": float(m.beta), "threshold": float(m.threshold)}),
    "Mish": ("mish", lambda m: {}),
}

# Functional forms: torch function / method / nn.functional name -> function name.
_ACTIVATION_FUNCTIONS = {
    "relu": "relu", "relu_": "relu", "leaky_relu": "leaky_relu", "sigmoid": "sigmoid", "tanh": "tanh",
    "silu": "silu", "elu": "elu", "selu": "selu", "relu6": "relu6", "hardtanh": "hardtanh",
    "hardsigmoid": "hardsigmoid", "hardswish": "hardswish", "softplus": "softplus", "mish": "mish",
    "gelu": "gelu",
}


def _fn_name(target):
    """The name of a call_function / call_method target: "relu", "mul", "sum", ..."""
    if isinstance(target, str):
        return target
    if target in (operator.mul, operator.imul):
        return "mul"
    if target in (operator.add, operator.iadd):
        return "add"
    if target is operator.getitem:
        return "getitem"
    return getattr(target, "__name__", str(target))


class _Tracer:
    def __init__(self, gm, values, input_name, raw_columns=False, builders=None):
        self.gm = gm
        self.builders = builders or {}  # marker function -> builder(tracer, fx node) of a feature layer
        self.values = values  # fx node -> the torch value it computed on the example inputs
        # One tensor argument is the input named input_name; several (or a dict) keep their names.
        self.input_name = input_name
        self.raw_columns = raw_columns  # forward()'s tensor is DeepCTR-Torch's X
        self.inputs = []  # the architecture's inputs, in order
        self.input_values = {}  # input name -> numpy array of the example
        self.embeddings = {}  # (input, table, pooling, padding id) -> _Feat: one node per lookup
        self.nodes = []  # architecture JSON nodes, in order
        self.tensors = {}  # weights: name -> float32 array
        self.widths = {}  # graph tensor -> width
        self.source = {}  # graph tensor -> the fx node whose value it equals
        self.producer = {}  # graph tensor -> index in self.nodes
        self.module_calls = {}  # module path -> times called
        self.mixtures = 0
        self.sym = {}  # fx node -> symbolic value

    # -- helpers -----------------------------------------------------------------------------

    def fail(self, node, what):
        where = "module %s (%s)" % (node.target, type(self.gm.get_submodule(node.target)).__name__) \
            if node.op == "call_module" else "operation %s (%s)" % (node.name, _fn_name(node.target))
        raise ValueError("%s: %s; %s" % (where, what, _SUPPORTED))

    def unique(self, name):
        base, k = name, 1
        while name in self.widths:
            name = "%s.%d" % (base, k)
            k += 1
        return name

    def add_node(self, node_json, width, fx_node):
        name = node_json["output"]
        self.widths[name] = width
        self.source[name] = fx_node
        self.producer[name] = len(self.nodes)
        self.nodes.append(node_json)
        return _Feat(name, width)

    def feat(self, node, value, what="its input"):
        if isinstance(value, _Terms):
            return self.materialize(node, value)
        if isinstance(value, _Cat):
            return self.concat(node, value)
        if not isinstance(value, _Feat):
            self.fail(node, "%s is not a [batch, features] activation of the model" % what)
        return value

    def sym_of(self, arg):
        import torch.fx as fx
        if isinstance(arg, fx.Node):
            return self.sym[arg]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self.sym_of(a) for a in arg)
        if isinstance(arg, dict):
            return {k: self.sym_of(v) for k, v in arg.items()}
        return arg

    def dim_arg(self, node, index, key, default=None):
        if len(node.args) > index:
            return node.args[index]
        return node.kwargs.get(key, default)

    # -- inputs and features -----------------------------------------------------------------

    def add_input(self, name, kind, value, fx_node=None):
        """Makes ``name`` an input of the graph: kind "ids" ([B] integers), "bag" ([B, L]
        integers) or "dense" ([B] or [B, k] floats); ``value`` is the example's array."""
        import torch
        if name in self.input_values:
            raise ValueError("two inputs are named %r" % name)
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        entry = {"name": name}
        if kind == "dense":
            arr = arr.astype(np.float64)
            width = 1 if arr.ndim == 1 else int(arr.shape[1])
            entry["width"] = width
            sym = _Feat(name, width, flat=arr.ndim == 1)
            self.widths[name] = width
            if fx_node is not None:
                self.source[name] = fx_node
        else:
            arr = arr.astype(np.int64)
            entry["kind"] = kind
            sym = _Ids(name, kind)
            self.widths[name] = 0
        self.inputs.append(entry)
        self.input_values[name] = arr
        return sym

    def input_of(self, name, value, fx_node=None, what=None):
        """The input a tensor argument of forward() is, by its dtype and shape."""
        import torch
        if not isinstance(value, torch.Tensor) or value.dim() not in (1, 2) or value.shape[0] == 0:
            raise ValueError("input %r must be a [batch] or [batch, k] tensor with batch > 0, got %s"
                             % (name, tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__))
        if value.dtype.is_floating_point:
            return self.add_input(name, "dense", value, fx_node)
        if value.dtype == torch.bool or value.is_complex():
            raise ValueError("input %r has dtype %s; inputs are integer ids or float features" % (name, value.dtype))
        return self.add_input(name, "ids" if value.dim() == 1 else "bag", value, fx_node)

    def dict_input(self, inputs, key, node):
        """Input ``key`` of forward()'s dict of inputs."""
        if not isinstance(inputs, _Inputs):
            self.fail(node, "reads feature %r from something else than forward()'s dict of inputs" % (key,))
        if not isinstance(key, str) or key not in inputs.values:
            self.fail(node, "reads input %r, which the example inputs do not hold" % (key,))
        syms = inputs.__dict__.setdefault("syms", {})
        if key not in syms:
            # x["name"] is the input's value; a feature layer's node is not.
            source = node if _fn_name(node.target) == "getitem" else None
            syms[key] = self.input_of(key, inputs.values[key], source)
        return syms[key]

    def embedding(self, node, ids, table, weight, pooling="none", padding_id=None, label=None):
        """The embedding node reading ``ids`` from ``table`` (a [rows, dim] weight), made once
        however often the model looks the same ids up in the same table."""
        if not isinstance(ids, _Ids):
            self.fail(node, "an embedding reads an integer input of the model (ids or a bag of ids)")
        if (ids.kind == "bag") != (pooling != "none"):
            self.fail(node, "input %r holds %s, which this lookup %s" % (
                ids.name, "bags of ids [batch, L]" if ids.kind == "bag" else "one id per item [batch]",
                "does not pool" if pooling == "none" else "pools"))
        key = (ids.name, table, pooling, padding_id)
        if key in self.embeddings:
            return self.embeddings[key]
        weight = np.asarray(weight, dtype=np.float32)
        if weight.ndim != 2:
            self.fail(node, "an embedding table is [rows, dim], got shape %s" % (weight.shape,))
        if table in self.tensors and not np.array_equal(self.tensors[table], weight):
            raise ValueError("two different tables are named %r" % table)
        self.tensors[table] = weight
        entry = {"op": "embedding", "input": ids.name, "output": self.unique(label or ids.name + ".emb"),
                 "table": table}
        if pooling != "none":
            entry["pooling"] = pooling
        if padding_id is not None:
            entry["padding_id"] = int(padding_id)
        feat = self.add_node(entry, int(weight.shape[1]), node)
        self.embeddings[key] = feat
        return feat

    def concat(self, node, cat):
        """The concat node of a _Cat (made when a layer first reads it): its parts must be
        embeddings or float inputs, which the concat quantizes column by column."""
        if cat.feat is not None:
            return cat.feat
        def flat(items):
            for p in items:
                if isinstance(p, _Cat):
                    yield from flat(p.parts)
                else:
                    yield p

        parts = list(flat(cat.parts))
        for p in parts:
            index = self.producer.get(p.name) if isinstance(p, _Feat) else None
            is_input = isinstance(p, _Feat) and any(i["name"] == p.name and "width" in i for i in self.inputs)
            if not (is_input or (index is not None and self.nodes[index]["op"] == "embedding")):
                what = p.name if isinstance(p, _Feat) else type(p).__name__
                self.fail(node, "concatenates %s: concatenating activations is not supported, only embeddings and "
                                "float inputs of the model are joined (into the first layers' input)" % what)
        entry = {"op": "concat", "inputs": [p.name for p in parts], "output": self.unique(cat.label)}
        cat.feat = self.add_node(entry, sum(p.width for p in parts), cat.fx_node)
        return cat.feat

    # -- nodes -------------------------------------------------------------------------------

    def dense(self, node, x, module_path, weight, bias):
        out, inn = weight.shape
        if x.width != inn:
            self.fail(node, "reads %d features but its input %s has %d" % (inn, x.name, x.width))
        calls = self.module_calls.get(module_path, 0)
        self.module_calls[module_path] = calls + 1
        name = self.unique(module_path if calls == 0 else "%s.%d" % (module_path, calls))
        self.tensors[name + ".weight"] = np.asarray(weight, dtype=np.float32)
        entry = {"op": "dense", "input": x.name, "output": name, "weight": name + ".weight"}
        if bias is not None:
            self.tensors[name + ".bias"] = np.asarray(bias, dtype=np.float32)
            entry["bias"] = name + ".bias"
        entry["activation"] = "none"
        return self.add_node(entry, out, node)

    def activation(self, node, x, function, params, label):
        name = self.unique(label)
        entry = {"op": "activation", "input": x.name, "output": name, "function": function}
        entry.update(params)
        return self.add_node(entry, x.width, node)

    def softmax(self, node, x, dim, label):
        if dim not in (1, -1, None) or x.flat:
            self.fail(node, "a softmax must run over the features (dim=1 or -1), got dim=%r" % (dim,))
        return self.add_node({"op": "softmax", "input": x.name, "output": self.unique(label)}, x.width, node)

    def mixture(self, node, probs, stack):
        feats = stack.feats
        if probs.width != len(feats):
            self.fail(node, "%d probabilities (%s) weigh %d stacked tensors" % (probs.width, probs.name, len(feats)))
        widths = {f.width for f in feats}
        if len(widths) != 1:
            self.fail(node, "the stacked tensors have different widths %s" % sorted(widths))
        name = self.unique("mixture.%d" % self.mixtures)
        self.mixtures += 1
        return self.add_node({"op": "mixture", "gate": probs.name, "experts": [f.name for f in feats],
                              "output": name}, feats[0].width, node)

    def materialize(self, node, terms):
        """The mixture a sum of probability-weighted experts is (every column of one gate's
        probabilities once)."""
        if terms.feat is not None:
            return terms.feat
        probs = terms.terms[0][0]
        if any(p is not probs for p, _, _ in terms.terms):
            self.fail(node, "sums experts weighted by different gates' probabilities")
        indices = sorted(i for _, i, _ in terms.terms)
        if indices != list(range(probs.width)):
            self.fail(node, "sums experts weighted by columns %s of %s's %d probabilities; a mixture weighs one "
                            "expert by each column" % (indices, probs.name, probs.width))
        order = sorted(terms.terms, key=lambda t: t[1])
        terms.feat = self.mixture(terms.fx_node, probs, _Stack([e for _, _, e in order]))
        return terms.feat

    def fold_into_dense(self, node, x, what):
        """The dense node producing ``x``, which nothing else may read yet (to fold into)."""
        index = self.producer.get(x.name)
        entry = self.nodes[index] if index is not None else None
        if entry is None or entry["op"] != "dense" or entry["activation"] != "none":
            self.fail(node, "%s must follow a Linear directly (nothing in between) to be folded into it" % what)
        for other in self.nodes[index + 1:]:
            if x.name in _inputs_of(other):
                self.fail(node, "%s follows a Linear whose output is also read elsewhere" % what)
        return entry

    def batchnorm(self, node, x, m):
        if m.training or not m.track_running_stats or m.running_mean is None:
            self.fail(node, "BatchNorm needs eval mode and running statistics to be folded")
        entry = self.fold_into_dense(node, x, "a BatchNorm1d")
        mean = m.running_mean.detach().double().cpu().numpy()
        var = m.running_var.detach().double().cpu().numpy()
        gamma = m.weight.detach().double().cpu().numpy() if m.affine else np.ones_like(mean)
        beta = m.bias.detach().double().cpu().numpy() if m.affine else np.zeros_like(mean)
        scale = gamma / np.sqrt(var + m.eps)
        w = self.tensors[entry["weight"]].astype(np.float64)
        b = self.tensors[entry["bias"]].astype(np.float64) if "bias" in entry else np.zeros(w.shape[0])
        self.tensors[entry["weight"]] = (w * scale[:, None]).astype(np.float32)
        entry["bias"] = entry["output"] + ".bias"
        self.tensors[entry["bias"]] = ((b - mean) * scale + beta).astype(np.float32)
        self.source[x.name] = node
        return x

    def add_bias(self, node, x, param):
        value = np.asarray(param.value, dtype=np.float64).reshape(-1)
        if value.size not in (1, x.width):
            self.fail(node, "adds a constant of %d values to %d features" % (value.size, x.width))
        entry = self.fold_into_dense(node, x, "a constant added to an activation")
        b = self.tensors[entry["bias"]].astype(np.float64) if "bias" in entry else np.zeros(x.width)
        entry["bias"] = entry["output"] + ".bias"
        self.tensors[entry["bias"]] = (b + value).astype(np.float32)
        self.source[x.name] = node
        return _Feat(x.name, x.width, x.flat)

    # -- the walk ----------------------------------------------------------------------------

    def run(self):
        import torch
        import torch.nn as nn
        result = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                value = self.values.get(node)
                if value is None:
                    self.sym[node] = None  # an optional argument the example leaves out
                elif self.raw_columns:
                    self.sym[node] = _RawColumns()
                elif isinstance(value, dict):
                    self.sym[node] = _Inputs(value)
                else:
                    tensors = [n for n in self.gm.graph.nodes if n.op == "placeholder" and
                               isinstance(self.values.get(n), torch.Tensor)]
                    one = len(tensors) == 1 and value.dtype.is_floating_point
                    self.sym[node] = self.input_of(self.input_name if one else node.target, value, node)
            elif node.op == "get_attr":
                obj = self.gm
                for part in node.target.split("."):
                    obj = getattr(obj, part)
                self.sym[node] = _Param(obj.detach().cpu().numpy() if isinstance(obj, torch.Tensor) else obj,
                                        node.target)
            elif node.op == "call_function" and node.target in self.builders:
                self.sym[node] = self.builders[node.target](self, node)
            elif node.op == "call_module":
                m = self.gm.get_submodule(node.target)
                args = [self.sym_of(a) for a in node.args]
                if not args:
                    self.fail(node, "takes no input")
                x = args[0]
                kind = type(m).__name__
                if isinstance(m, (nn.Dropout, nn.Identity, nn.AlphaDropout)):
                    self.sym[node] = x
                elif isinstance(m, nn.Embedding):
                    if m.max_norm is not None:
                        self.fail(node, "an embedding with max_norm renormalises rows as it reads them")
                    if not isinstance(x, _Ids):
                        self.fail(node, "an embedding reads an integer input of the model (ids or a bag of ids)")
                    weight = m.weight.detach().cpu().numpy()
                    table = node.target + ".weight"
                    self.sym[node] = self.embedding(node, x, table, weight) if x.kind == "ids" else \
                        _SeqEmb(x, table, weight)
                elif isinstance(m, nn.EmbeddingBag):
                    if len(args) > 1 or node.kwargs.get("offsets") is not None or \
                            node.kwargs.get("per_sample_weights") is not None:
                        self.fail(node, "an EmbeddingBag is read with one [batch, L] tensor of ids (padded with "
                                        "its padding_idx), without offsets or per-sample weights")
                    if m.mode not in ("sum", "mean") or m.max_norm is not None:
                        self.fail(node, "an EmbeddingBag pools by sum or mean (mode %r)" % m.mode)
                    self.sym[node] = self.embedding(node, x, node.target + ".weight", m.weight.detach().cpu().numpy(),
                                                    m.mode, m.padding_idx)
                elif isinstance(m, nn.Linear):
                    self.sym[node] = self.dense(node, self.feat(node, x), node.target,
                                                m.weight.detach().cpu().numpy(),
                                                None if m.bias is None else m.bias.detach().cpu().numpy())
                elif isinstance(m, nn.BatchNorm1d):
                    self.sym[node] = self.batchnorm(node, self.feat(node, x), m)
                elif isinstance(m, nn.Softmax):
                    self.sym[node] = self.softmax(node, self.feat(node, x), m.dim, node.target)
                elif isinstance(m, nn.PReLU):
                    name = node.target + ".weight"
                    self.tensors[name] = m.weight.detach().cpu().numpy().astype(np.float32).reshape(-1)
                    self.sym[node] = self.activation(node, self.feat(node, x), "prelu", {"weight": name}, node.target)
                elif isinstance(m, nn.GELU):
                    approx = getattr(m, "approximate", "none")
                    self.sym[node] = self.activation(node, self.feat(node, x), "gelu_tanh" if approx == "tanh" else "gelu",
                                                     {}, node.target)
                elif kind in _ACTIVATION_MODULES:
                    function, params = _ACTIVATION_MODULES[kind]
                    self.sym[node] = self.activation(node, self.feat(node, x), function, params(m), node.target)
                else:
                    self.fail(node, "cannot map this module to the runtime")
            elif node.op in ("call_function", "call_method"):
                self.sym[node] = self.call(node, _fn_name(node.target), [self.sym_of(a) for a in node.args],
                                           {k: self.sym_of(v) for k, v in node.kwargs.items()})
            elif node.op == "output":
                result = self.sym_of(node.args[0])
        return result

    def call(self, node, fn, args, kwargs):
        import torch.nn.functional as F  # noqa: F401
        x = args[0] if args else None
        if fn in ("dropout", "alpha_dropout", "contiguous", "clone", "detach"):
            return x
        if fn == "getitem":
            if isinstance(x, (list, tuple)):
                return x[args[1]]
            if isinstance(x, _Inputs):
                return self.dict_input(x, args[1], node)
            index = args[1]
            if isinstance(x, _Feat) and not x.flat and isinstance(index, tuple) and len(index) == 2 and \
                    index[0] == slice(None):
                col = index[1]
                if isinstance(col, int) and 0 <= col < x.width:
                    return _ProbCol(x, col, keep=False)
                if isinstance(col, slice) and col.step in (None, 1) and isinstance(col.start, int) and \
                        col.stop == col.start + 1 and 0 <= col.start < x.width:
                    return _ProbCol(x, col.start, keep=True)
            self.fail(node, "indexing an activation is not supported, except one column of a gate's "
                            "probabilities (p[:, i] or p[:, i:i + 1])")
        if fn in ("zeros", "zeros_like", "new_zeros"):
            return _Zero()
        if fn in _ACTIVATION_FUNCTIONS:
            function = _ACTIVATION_FUNCTIONS[fn]
            feat = self.feat(node, x)
            params = {}
            if function == "leaky_relu":
                params["slope"] = float(self.dim_arg(node, 1, "negative_slope", 0.01))
            elif function == "elu":
                params["alpha"] = float(self.dim_arg(node, 1, "alpha", 1.0))
            elif function == "hardtanh":
                params["min"] = float(self.dim_arg(node, 1, "min_val", -1.0))
                params["max"] = float(self.dim_arg(node, 2, "max_val", 1.0))
            elif function == "softplus":
                params["beta"] = float(self.dim_arg(node, 1, "beta", 1.0))
                params["threshold"] = float(self.dim_arg(node, 2, "threshold", 20.0))
            elif function == "gelu" and kwargs.get("approximate", "none") == "tanh":
                function = "gelu_tanh"
            return self.activation(node, feat, function, params, "%s.%s" % (feat.name, function))
        if fn == "linear":
            feat, weight = self.feat(node, x), args[1]
            bias = args[2] if len(args) > 2 else node.kwargs.get("bias")
            if not isinstance(weight, _Param) or not (bias is None or isinstance(bias, _Param)):
                self.fail(node, "F.linear needs the weight and bias of a module (parameters)")
            path = weight.name[:-len(".weight")] if weight.name.endswith(".weight") else weight.name
            return self.dense(node, feat, path, np.asarray(weight.value), None if bias is None else np.asarray(bias.value))
        if fn == "prelu":
            feat, weight = self.feat(node, x), args[1]
            if not isinstance(weight, _Param):
                self.fail(node, "the PReLU weight must be a parameter")
            name = weight.name
            self.tensors[name] = np.asarray(weight.value, dtype=np.float32).reshape(-1)
            return self.activation(node, feat, "prelu", {"weight": name}, "%s.prelu" % feat.name)
        if fn == "softmax":
            return self.softmax(node, self.feat(node, x), self.dim_arg(node, 1, "dim"), "%s.softmax" % self.feat(node, x).name)
        if fn == "unsqueeze" and isinstance(x, _ProbCol) and not x.keep and \
                self.dim_arg(node, 1, "dim") in (1, -1):
            return _ProbCol(x.probs, x.index, keep=True)
        if fn in ("view", "reshape") and isinstance(x, _ProbCol) and not x.keep and \
                tuple(args[1:]) in ((-1, 1), ((-1, 1),)):
            return _ProbCol(x.probs, x.index, keep=True)
        if fn in ("long", "int") and isinstance(x, _Ids):
            return x
        if fn == "float" and isinstance(x, _Feat) and x.name in self.input_values:
            return x
        if fn in ("sum", "mean") and isinstance(x, _SeqEmb):
            if self.dim_arg(node, 1, "dim") not in (1, -2) or kwargs.get("keepdim", False):
                self.fail(node, "an embedding of a bag is pooled over dim 1 (sum or mean)")
            return self.embedding(node, x.ids, x.table, x.weight, fn)
        if fn in ("flatten", "reshape", "view"):
            v = self.values.get(node)
            if v is not None and getattr(v, "dim", lambda: 0)() == 2:
                if isinstance(x, (_Stack, _Group)):
                    return _Cat(list(x.feats if isinstance(x, _Stack) else x.parts), node)
                if isinstance(x, (_Feat, _Cat)) and not getattr(x, "flat", False):
                    return x
        if fn == "unsqueeze":
            feat = self.feat(node, x)
            dim = self.dim_arg(node, 1, "dim")
            if feat.flat:
                if dim in (1, -1):
                    return _Feat(feat.name, feat.width)
                self.fail(node, "unsqueeze(%r) of a [batch] tensor" % (dim,))
            if dim == 1:
                return _Unsq(feat, 1)
            if dim in (2, -1):
                return _Unsq(feat, 2)
            self.fail(node, "unsqueeze(%r) of a [batch, features] tensor" % (dim,))
        if fn == "squeeze":
            dim = self.dim_arg(node, 1, "dim")
            if isinstance(x, _Unsq) and (dim is None or dim == x.dim or (dim == -1 and x.dim == 2)):
                return x.feat
            if isinstance(x, _Feat) and x.width == 1 and dim in (None, 1, -1):
                return _Feat(x.name, 1, flat=True)
            self.fail(node, "squeeze(%r) of this value" % (dim,))
        if fn in ("stack", "cat", "concat"):
            items = list(x)
            dim = self.dim_arg(node, 1, "dim", 0)
            if fn == "stack" and dim == 1 and all(isinstance(i, _Feat) and not i.flat for i in items):
                return _Stack(items)
            if fn != "stack" and dim == 1 and all(isinstance(i, (_Unsq, _Stack)) for i in items) and \
                    all(i.dim == 1 for i in items if isinstance(i, _Unsq)):
                feats = []
                for i in items:
                    feats.extend([i.feat] if isinstance(i, _Unsq) else i.feats)
                return _Stack(feats)
            scores = all(isinstance(i, _Feat) and i.width == 1 for i in items)
            if scores and fn == "stack" and all(i.flat for i in items) and dim in (1, -1):
                return ("scores", items)
            if fn != "stack" and dim in (1, -1) and all(isinstance(i, (_Feat, _Cat)) and not getattr(i, "flat", False)
                                                        for i in items):
                return _Cat(items, node)
            self.fail(node, "%s of these values along dim %r: only experts (as a stack) or task scores (as the "
                            "output) can be joined; concatenating activations is not supported" % (fn, dim))
        if fn == "mul":
            a, b = x, args[1]
            for p, e in ((a, b), (b, a)):
                if isinstance(p, _ProbCol) and p.keep and isinstance(e, _Feat) and not e.flat:
                    return _Terms([(p.probs, p.index, e)], node)
            for p, s in ((a, b), (b, a)):
                if isinstance(p, _Unsq) and p.dim == 2 and isinstance(s, _Stack):
                    return _Weighted(p.feat, s)
            if isinstance(a, _Feat) and isinstance(b, _Feat):
                if a.width != b.width or a.flat != b.flat:
                    self.fail(node, "multiplies %s and %s of different shapes" % (a.name, b.name))
                name = self.unique("%s_x_%s" % (a.name, b.name))
                out = self.add_node({"op": "product", "inputs": [a.name, b.name], "output": name}, a.width, node)
                out.flat = a.flat
                return out
            self.fail(node, "only probabilities times stacked experts, or task scores times task scores, can be "
                            "multiplied")
        if fn == "sum":
            dim = self.dim_arg(node, 1, "dim")
            if isinstance(x, _Weighted) and dim in (1, -2):
                return self.mixture(node, x.probs, x.stack)
            self.fail(node, "sum over dim %r of this value (a mixture sums probabilities x experts over dim 1)"
                      % (dim,))
        if fn in ("matmul", "bmm"):
            a, b = x, args[1]
            if isinstance(a, _Unsq) and a.dim == 1 and isinstance(b, _Stack):
                return _Unsq(self.mixture(node, a.feat, b), 1)
            self.fail(node, "a matmul mixes probabilities.unsqueeze(1) [batch, 1, n] with stacked experts "
                            "[batch, n, features]")
        if fn in ("add", "add_"):
            a, b = x, args[1]
            if isinstance(a, _Terms) or isinstance(b, _Terms):
                parts = []
                for v in (a, b):
                    if isinstance(v, _Terms):
                        parts.extend(v.terms)
                    elif not _is_zero(v):
                        self.fail(node, "adds something else than experts weighted by a gate's probabilities to "
                                        "their sum")
                return _Terms(parts, node)
            if isinstance(a, _Param):
                a, b = b, a
            if isinstance(a, _Feat) and isinstance(b, (_Param, int, float)):
                param = b if isinstance(b, _Param) else _Param(np.array([float(b)]), "constant")
                return self.add_bias(node, a, param)
            self.fail(node, "only a constant added to a Linear's output can be folded")
        self.fail(node, "cannot map this operation to the runtime")


def _is_zero(v):
    if isinstance(v, _Zero):
        return True
    if isinstance(v, (int, float)):
        return v == 0
    return isinstance(v, _Param) and isinstance(v.value, np.ndarray) and not np.any(v.value)


def _inputs_of(node):
    if node["op"] == "mixture":
        return ([node["gate"]] if "gate" in node else []) + node["experts"]
    if node["op"] in ("product", "concat"):
        return node["inputs"]
    return [node["input"]]


def _live(nodes, outputs):
    """The nodes the outputs depend on, in order: what forward() computes and never uses (the
    shared gate of DeepCTR-Torch's last PLE level) is left out of the model."""
    needed, keep = set(outputs), []
    for n in reversed(nodes):
        if n["output"] in needed:
            needed.update(_inputs_of(n))
            keep.append(n)
    return keep[::-1]


def _fuse_and_type(nodes, outputs):
    """Fuses ReLU into the dense layer it alone follows, and makes a sigmoid of logits that only
    scores read a "sigmoid" node (the runtime's exact float sigmoid) rather than a table.
    Returns the renames applied (fused activation output -> dense output)."""
    readers = {}
    for i, n in enumerate(nodes):
        for t in _inputs_of(n):
            readers.setdefault(t, []).append(i)
    producer = {n["output"]: i for i, n in enumerate(nodes)}
    renames = {}
    keep = []
    for i, n in enumerate(nodes):
        if n["op"] == "activation" and n["function"] == "relu":
            src = producer.get(n["input"])
            d = nodes[src] if src is not None else None
            if d is not None and d["op"] == "dense" and d["activation"] == "none" and \
                    readers.get(n["input"]) == [i] and n["input"] not in outputs:
                d["activation"] = "relu"
                renames[n["output"]] = d["output"]
                continue
        keep.append(n)
    for n in keep:
        if "input" in n:
            n["input"] = renames.get(n["input"], n["input"])
        for key in ("experts", "inputs"):
            if key in n:
                n[key] = [renames.get(t, t) for t in n[key]]
        if "gate" in n:
            n["gate"] = renames.get(n["gate"], n["gate"])
    # Sigmoids read logits (float) when every reader of their input is a sigmoid, softmax or
    # product and their own output goes only to products and outputs.
    readers = {}
    for i, n in enumerate(keep):
        for t in _inputs_of(n):
            readers.setdefault(t, []).append(n)
    producer = {n["output"]: n for n in keep}
    float_readers = {"softmax", "sigmoid", "product"}

    def is_sigmoid(n):
        return n["op"] == "sigmoid" or (n["op"] == "activation" and n["function"] == "sigmoid")

    for n in keep:
        if n["op"] != "activation" or n["function"] != "sigmoid":
            continue
        src = producer.get(n["input"])
        logit = src is not None and src["op"] == "dense" and src["activation"] == "none" and all(
            is_sigmoid(r) or r["op"] in float_readers for r in readers.get(n["input"], []))
        scores = all(r["op"] == "product" for r in readers.get(n["output"], []))
        if logit and scores:
            n["op"] = "sigmoid"
            del n["function"]
    return keep, renames


def trace(model, examples, task_names=None, input_name="input", layers=None):
    """Traces ``model`` (an nn.Module in eval mode) called on the positional arguments
    ``examples`` (a tuple: tensors, or a dict of tensors by input name).

    ``layers`` (mmoe_features.FeatureLayers) takes over the feature-column layers of
    DeepCTR-Torch and torch-rechub models, which torch.fx cannot follow.

    Returns (inputs, nodes, tensors, outputs, checks, input_values): the architecture's inputs
    and nodes, the weights by name, the outputs as (task name, tensor), for each graph tensor
    the torch value the module computed for it on the examples ([N, width] numpy arrays), and
    each input's example array by name.
    """
    import torch
    import torch.fx as fx

    examples = tuple(examples)
    try:
        tracer = _value_tracer()(examples, layers.leaves if layers else (), layers.autowrap if layers else ())
        if layers:
            with layers.patched(model, tracer):
                graph = tracer.trace(model)
        else:
            graph = tracer.trace(model)
        gm = fx.GraphModule(tracer.root, graph)
    except ValueError:
        raise
    except Exception as e:  # noqa: BLE001 - torch.fx raises many kinds
        raise ValueError("torch.fx cannot trace the model's forward(): %s: %s" % (type(e).__name__, e))
    values = {}

    class Recorder(fx.Interpreter):
        # In-place operations (``acc += expert * gate``) must not change the module's constants:
        # the weights and the zeros a sum starts from are read again afterwards.
        def get_attr(self, target, args, kwargs):
            value = super().get_attr(target, args, kwargs)
            return value.clone() if isinstance(value, torch.Tensor) else value

        def run_node(self, n):
            out = super().run_node(n)
            values[n] = out
            return out

    with torch.no_grad():
        Recorder(gm).run(*examples)
    t = _Tracer(gm, values, input_name, raw_columns=bool(layers and layers.raw_columns),
                builders=layers.builders if layers else None)
    result = t.run()
    if isinstance(result, tuple) and len(result) == 2 and result[0] == "scores":
        scores = result[1]
    elif isinstance(result, _Cat):
        scores = result.parts
    elif isinstance(result, (list, tuple)):
        scores = list(result)
    elif isinstance(result, dict):
        scores = list(result.values())
        if task_names is None:
            task_names = [str(k) for k in result]
    else:
        scores = [result]
    for s in scores:
        if not isinstance(s, _Feat) or s.width != 1:
            raise ValueError("forward() must return task scores of one value per item (a [batch, 1] or [batch] "
                             "tensor each, a tuple, list or dict of them, or torch.cat of them on dim 1)")
    if task_names is None:
        task_names = ["task%d" % (i + 1) for i in range(len(scores))]
    task_names = [str(n) for n in task_names]
    if len(task_names) != len(scores):
        raise ValueError("%d task names for %d task scores" % (len(task_names), len(scores)))
    if len(set(task_names)) != len(task_names):
        raise ValueError("task names must be distinct: %r" % (task_names,))
    nodes, renames = _fuse_and_type(t.nodes, {s.name for s in scores})
    nodes = _live(nodes, {renames.get(s.name, s.name) for s in scores})
    outputs = [(name, renames.get(s.name, s.name)) for name, s in zip(task_names, scores)]
    # The torch value of every graph tensor: a fused ReLU's output is the dense tensor's value.
    checks = {}
    for name, fx_node in t.source.items():
        checks[renames.get(name, name)] = fx_node
    for fused, dense in renames.items():
        checks[dense] = t.source[fused]
    arrays = {}
    for name, fx_node in checks.items():
        v = values.get(fx_node) if fx_node is not None else None
        if isinstance(v, torch.Tensor):
            v = v.detach().double().cpu().numpy()
            arrays[name] = v.reshape(v.shape[0], -1)
    used = set()
    for n in nodes:
        for key in ("weight", "bias", "table"):
            if key in n:
                used.add(n[key])
    tensors = {k: v for k, v in t.tensors.items() if k in used}
    if not t.inputs:
        raise ValueError("forward() reads no input of the model")
    return t.inputs, nodes, tensors, outputs, arrays, t.input_values
