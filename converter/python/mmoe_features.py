"""The feature-column layers of DeepCTR-Torch and torch-rechub models, for the tracer.

Both libraries start a model's ``forward`` with a layer that turns the raw inputs into the
experts' input: ids looked up in embedding tables, bags of ids pooled, dense values appended.
torch.fx cannot follow those layers (they read Python feature objects, slice columns by a
dictionary, create pooling modules inside ``forward``), so :func:`feature_layers` recognises
them by their attributes -- never by importing either library -- and builds their part of the
graph from the model's own metadata: one input per feature, named as the library names it,
an embedding node per lookup and a concat in the library's column order. The rest of
``forward`` is traced as usual, and the whole exported graph is still checked against what
the module computes.

* DeepCTR-Torch (``MMOE``, ``PLE``, ``SharedBottom``, ``ESMM``; any ``BaseModel``):
  ``input_from_feature_columns`` + ``combined_dnn_input``. The model reads one float ``X``
  whose columns follow ``feature_index``; the exported model takes the features by name, as
  DeepCTR-Torch's ``predict`` does: ``SparseFeat`` ids, ``VarLenSparseFeat`` bags of
  ``maxlen`` ids padded with 0 (DeepCTR-Torch masks id 0), ``DenseFeat`` floats. The experts'
  input is every sparse embedding, then every pooled sequence, then the dense values.
* torch-rechub (``MMOE``, ``PLE``, ``SharedBottom``, ``ESMM``): ``EmbeddingLayer`` called
  with the dict of inputs, a list of ``SparseFeature``, ``SequenceFeature`` and
  ``DenseFeature`` and ``squeeze_dim``. Sequences pool by sum or mean, leaving out
  ``padding_idx`` when it is set (every id counts otherwise, as in torch-rechub);
  ``shared_with`` reads the owner's table.
"""

import contextlib

import numpy as np

__all__ = ["feature_layers", "FeatureLayers"]


class FeatureLayers:
    """What the tracer needs to take over a library's feature-column layer.

    leaves: (accepts(module), record(tracer, module, path, args, kwargs)) pairs for
      torch.fx; autowrap: functions torch.fx records as one call; builders: marker function ->
      builder(tracer, fx node) that makes the graph's nodes; raw_columns: forward()'s tensor
      is not an input of the graph (DeepCTR-Torch's X)."""

    leaves = ()
    autowrap = ()
    raw_columns = False

    def __init__(self):
        self.builders = {}

    @contextlib.contextmanager
    def patched(self, model, tracer):
        yield

    def examples(self, example_inputs):
        """forward()'s positional arguments for ``example_inputs``."""
        return _as_args(example_inputs)

    def input_arrays(self, example_inputs):
        """The exported model's inputs by name for ``example_inputs``, or None when they are
        the arguments themselves."""
        return None


def _as_args(example_inputs):
    if isinstance(example_inputs, tuple):
        return example_inputs
    if isinstance(example_inputs, list) and example_inputs and not isinstance(example_inputs[0], (int, float)):
        return tuple(example_inputs)
    return (example_inputs,)


def _module_path(model, module):
    for name, m in model.named_modules():
        if m is module:
            return name
    raise ValueError("the embedding tables are not a submodule of the model")


def _kind(feature):
    return type(feature).__name__


# ---------------------------------------------------------------------------------------------
# DeepCTR-Torch
# ---------------------------------------------------------------------------------------------

class DeepCtrLayers(FeatureLayers):
    raw_columns = True

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.index = dict(model.feature_index)
        self.columns = list(model.dnn_feature_columns)
        by_name = {}
        for f in self.columns:
            kind = _kind(f)
            if kind not in ("SparseFeat", "VarLenSparseFeat", "DenseFeat"):
                raise ValueError("DeepCTR-Torch feature %r is a %s; SparseFeat, VarLenSparseFeat and DenseFeat can be "
                                 "exported" % (getattr(f, "name", f), kind))
            if kind == "VarLenSparseFeat":
                if f.combiner not in ("sum", "mean"):
                    raise ValueError("VarLenSparseFeat %r pools by %r; the runtime pools by sum or mean"
                                     % (f.name, f.combiner))
                if f.length_name is not None:
                    raise ValueError("VarLenSparseFeat %r reads its length from column %r; export the feature "
                                     "without length_name (DeepCTR-Torch then masks id 0, as the exported model "
                                     "does)" % (f.name, f.length_name))
            by_name.setdefault(f.name, f)
        extra = [n for n in self.index if n not in by_name]
        if extra:
            raise ValueError("DeepCTR-Torch columns %s belong to no feature of dnn_feature_columns (linear "
                             "features and length columns are not exported)" % ", ".join(map(repr, extra)))
        self.features = [by_name[n] for n in self.index]  # predict()'s order
        self.table_path = _module_path(model, model.embedding_dict)
        forward_globals = type(model).forward.__globals__
        combine = forward_globals.get("combined_dnn_input")
        if combine is None or not callable(combine):
            raise ValueError("%s.forward does not call combined_dnn_input: not a DeepCTR-Torch multi-task model "
                             "the exporter knows" % type(model).__name__)
        self.autowrap = (combine,)
        self.original = type(model).input_from_feature_columns.__get__(model)

        def sparse_part(x):
            return self.original(x, model.dnn_feature_columns, model.embedding_dict)[0]

        def dense_part(x):
            return self.original(x, model.dnn_feature_columns, model.embedding_dict)[1]

        self.parts = (sparse_part, dense_part)
        self.builders = {sparse_part: lambda t, node: ("deepctr", "sparse"),
                         dense_part: lambda t, node: ("deepctr", "dense"),
                         combine: self.build}

    @contextlib.contextmanager
    def patched(self, model, tracer):
        def input_from_feature_columns(x, feature_columns, embedding_dict, *args, **kwargs):
            if feature_columns is not model.dnn_feature_columns or embedding_dict is not model.embedding_dict:
                raise ValueError("forward() reads other feature columns than model.dnn_feature_columns")
            return (tracer.create_proxy("call_function", self.parts[0], (x,), {}),
                    tracer.create_proxy("call_function", self.parts[1], (x,), {}))

        model.input_from_feature_columns = input_from_feature_columns
        try:
            yield
        finally:
            del model.input_from_feature_columns

    def examples(self, example_inputs):
        import torch
        x = example_inputs
        if isinstance(x, (tuple, list)) and len(x) == 1:
            x = x[0]
        if isinstance(x, dict):
            missing = [n for n in self.index if n not in x]
            if missing:
                raise ValueError("example inputs lack feature(s) %s" % ", ".join(map(repr, missing)))
            cols = [np.asarray(x[n]) for n in self.index]
            x = np.concatenate([c.reshape(c.shape[0], -1) for c in cols], axis=-1)  # as predict() does
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float()
        width = max(end for _, end in self.index.values())
        if x.dim() != 2 or x.shape[1] != width or x.shape[0] == 0:
            raise ValueError("a DeepCTR-Torch model reads [rows, %d] columns (feature_index), got shape %s"
                             % (width, tuple(x.shape)))
        return (x,)

    def input_arrays(self, example_inputs):
        x = self.examples(example_inputs)[0].numpy()
        out = {}
        for f in self.features:
            a, b = self.index[f.name]
            cols = x[:, a:b]
            if _kind(f) == "DenseFeat":
                out[f.name] = cols.astype(np.float32)
            else:  # .long() truncates toward zero, as DeepCTR-Torch reads ids from X
                out[f.name] = (cols[:, 0] if _kind(f) == "SparseFeat" else cols).astype(np.int64)
        return out

    def build(self, t, node):
        import torch
        if [t.sym.get(a) for a in node.args[:2]] != [("deepctr", "sparse"), ("deepctr", "dense")]:
            t.fail(node, "combined_dnn_input must combine what input_from_feature_columns returned")
        x = t.values[node.args[0].args[0]]
        arrays = self.input_arrays(x)
        inputs = {}
        for f in self.features:
            kind = {"SparseFeat": "ids", "VarLenSparseFeat": "bag", "DenseFeat": "dense"}[_kind(f)]
            inputs[f.name] = t.add_input(f.name, kind, torch.as_tensor(arrays[f.name]))
        parts = []
        for kind in ("SparseFeat", "VarLenSparseFeat"):
            for f in self.columns:
                if _kind(f) != kind:
                    continue
                table = self.model.embedding_dict[f.embedding_name].weight.detach().cpu().numpy()
                key = "%s.%s.weight" % (self.table_path, f.embedding_name)
                if kind == "SparseFeat":
                    feat = t.embedding(node, inputs[f.name], key, table)
                else:
                    feat = t.embedding(node, inputs[f.name], key, table, f.combiner, 0)
                t.source[feat.name] = None  # its torch value is inside the concat's
                parts.append(feat)
        parts += [inputs[f.name] for f in self.columns if _kind(f) == "DenseFeat"]
        from mmoe_trace import _Cat
        return t.concat(node, _Cat(parts, node, label="dnn_input"))


# ---------------------------------------------------------------------------------------------
# torch-rechub
# ---------------------------------------------------------------------------------------------

def _is_rechub_embedding(m):
    return type(m).__name__ == "EmbeddingLayer" and hasattr(m, "embed_dict")


class RechubLayers(FeatureLayers):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.leaves = ((_is_rechub_embedding, self.record),)

    def record(self, tracer, m, path, args, kwargs):
        args = list(args)
        features = args[1] if len(args) > 1 else kwargs.get("features")
        squeeze_dim = args[2] if len(args) > 2 else kwargs.get("squeeze_dim", False)
        if features is None:
            raise ValueError("%s (EmbeddingLayer) is called without its features" % path)
        features = list(features)

        def embedding_layer(x):
            return m(x, features, squeeze_dim=squeeze_dim)

        self.builders[embedding_layer] = lambda t, node: self.build(t, node, m, path, features, bool(squeeze_dim))
        return tracer.create_proxy("call_function", embedding_layer, (args[0],), {})

    def build(self, t, node, m, path, features, squeeze_dim):
        from mmoe_trace import _Cat, _Group
        x = t.sym_of(node.args[0])
        sparse, dense = [], []
        for f in features:
            kind = _kind(f)
            if kind not in ("SparseFeature", "SequenceFeature", "DenseFeature"):
                t.fail(node, "feature %r is a %s; SparseFeature, SequenceFeature and DenseFeature can be exported"
                       % (getattr(f, "name", f), kind))
            if kind == "DenseFeature":
                if squeeze_dim:  # squeeze_dim=False leaves dense features out, as torch-rechub does
                    dense.append(t.dict_input(x, f.name, node))
                continue
            owner = f.shared_with if f.shared_with is not None else f.name
            if owner not in m.embed_dict:
                t.fail(node, "feature %r reads table %r, which %s.embed_dict does not hold" % (f.name, owner, path))
            table = m.embed_dict[owner].weight.detach().cpu().numpy()
            key = "%s.embed_dict.%s.weight" % (path, owner) if path else "embed_dict.%s.weight" % owner
            ids = t.dict_input(x, f.name, node)
            if kind == "SparseFeature":
                feat = t.embedding(node, ids, key, table)
            else:
                if f.pooling not in ("sum", "mean"):
                    t.fail(node, "SequenceFeature %r pools by %r; the runtime pools by sum or mean"
                           % (f.name, f.pooling))
                feat = t.embedding(node, ids, key, table, f.pooling, f.padding_idx)
            t.source[feat.name] = None  # its torch value is inside the layer's output
            sparse.append(feat)
        if squeeze_dim:
            return _Cat(sparse + dense, node, label="embed_x")
        return _Group(sparse, node)


def feature_layers(model):
    """The FeatureLayers for ``model``'s library, or None for a plain module."""
    if all(hasattr(model, a) for a in ("feature_index", "embedding_dict", "dnn_feature_columns",
                                       "input_from_feature_columns")):
        return DeepCtrLayers(model)
    if any(_is_rechub_embedding(m) for m in model.modules()):
        return RechubLayers(model)
    return None
