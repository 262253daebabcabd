// mmoe::Session: the tile loop and Score's argument checks. Score() never allocates; with
// threads > 1 it hands tile ranges to the session's workers. (Creating a session, backend
// selection included, is session_create.cc.)
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/gemm.h"
#include "mmoe/mmoe.h"
#include "model_data.h"
#include "session_impl.h"

namespace mmoe {

Session::Session(std::shared_ptr<const Model> model, std::unique_ptr<Impl> impl)
    : model_(std::move(model)), impl_(std::move(impl)) {}
Session::~Session() = default;

namespace {

Status CheckScoreArgs(size_t n_items, const float* scores, size_t capacity, const ModelData& m) {
  if (!scores) return Status::Error(StatusCode::kInvalidArgument, "Score: null scores");
  if (n_items == 0) return Status::Error(StatusCode::kInvalidArgument, "Score: n_items is 0");
  const size_t n_tasks = static_cast<size_t>(m.num_tasks());
  const size_t dim = static_cast<size_t>(std::max(m.input_dim, 1));
  if (n_items > SIZE_MAX / 4 / dim || n_items > SIZE_MAX / 4 / n_tasks) {
    return Status::Error(StatusCode::kInvalidArgument, "Score: n_items %zu is too large", n_items);
  }
  if (capacity < n_items * n_tasks) {
    return Status::Error(StatusCode::kBufferTooSmall,
                         "Score: scores holds %zu floats, %zu items x %zu tasks need %zu", capacity, n_items,
                         n_tasks, n_items * n_tasks);
  }
  return Status::Ok();
}

// Score(features) and the calls that take one float array need a model whose one input is
// dense (and ScoreQuantized one whose input is int8, quantized with one scale).
Status CheckOneDenseInput(const ModelData& m, const char* call, bool quantized) {
  if (m.input_dim > 0 && (m.quantized_input || !quantized)) return Status::Ok();
  if (m.input_dim > 0) {
    return Status::Error(StatusCode::kInvalidArgument,
                         "%s: the model's input is not int8 with one scale (it is int16, or quantized per "
                         "feature); pass float features (Score)",
                         call);
  }
  return Status::Error(StatusCode::kInvalidArgument,
                       "%s: model has %zu inputs ('%s' is %s); pass one InputView per input", call,
                       m.graph.inputs.size(), m.graph.inputs[0].name.c_str(),
                       graph::InputKindName(m.graph.inputs[0].kind));
}

const char* DataTypeName(DataType t) {
  switch (t) {
    case DataType::kFloat32:
      return "float32";
    case DataType::kInt32:
      return "int32";
    case DataType::kInt64:
      return "int64";
  }
  return "unknown";
}

int64_t IdAt(const InputView& v, size_t j) {
  return v.type == DataType::kInt64 ? static_cast<const int64_t*>(v.data)[j]
                                    : static_cast<const int32_t*>(v.data)[j];
}

// One view against the input it is for: type, sizes, offsets, and the ids against the tables.
Status CheckView(const InputView& v, const graph::Input& input, const InputSpec& spec, size_t n_items) {
  const char* name = input.name.c_str();
  if (spec.kind == graph::InputKind::kDense) {
    if (v.type != DataType::kFloat32) {
      return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s' takes float32 features, not %s",
                           name, DataTypeName(v.type));
    }
    const size_t width = static_cast<size_t>(spec.width);
    if (n_items > SIZE_MAX / width || v.size != n_items * width) {
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: input '%s' has %zu floats; %zu items x %zu features need %zu", name,
                           v.size, n_items, width, n_items * width);
    }
  } else {
    if (v.type != DataType::kInt32 && v.type != DataType::kInt64) {
      return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s' takes int32 or int64 ids, not %s",
                           name, DataTypeName(v.type));
    }
    if (spec.kind == graph::InputKind::kIds && v.size != n_items) {
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: input '%s' has %zu ids for %zu items (one each)", name, v.size, n_items);
    }
  }
  if (spec.kind == graph::InputKind::kBag) {
    if (!v.offsets) {
      return Status::Error(
          StatusCode::kInvalidArgument,
          "Score: input '%s' is a bag: it needs offsets (n_items + 1, from 0 to the ids' count)", name);
    }
    if (v.offsets[0] != 0 || v.offsets[n_items] != static_cast<int64_t>(v.size)) {
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: input '%s': offsets run from %lld to %lld; expected 0 to %zu (its ids)",
                           name, static_cast<long long>(v.offsets[0]),
                           static_cast<long long>(v.offsets[n_items]), v.size);
    }
    for (size_t i = 0; i < n_items; ++i) {
      if (v.offsets[i + 1] < v.offsets[i]) {
        return Status::Error(
            StatusCode::kInvalidArgument, "Score: input '%s': offsets[%zu] = %lld < offsets[%zu] = %lld",
            name, i + 1, static_cast<long long>(v.offsets[i + 1]), i, static_cast<long long>(v.offsets[i]));
      }
    }
  } else if (v.offsets) {
    return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s' is %s: it takes no offsets", name,
                         graph::InputKindName(spec.kind));
  }
  if (!v.data && v.size > 0)
    return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s': null data", name);
  if (spec.kind == graph::InputKind::kDense || spec.id_limit == 0) return Status::Ok();
  for (size_t j = 0; j < v.size; ++j) {
    const int64_t id = IdAt(v, j);
    if (!spec.Accepts(id)) {
      size_t item = j;
      if (spec.kind == graph::InputKind::kBag) {  // the item whose bag holds position j
        item =
            static_cast<size_t>(
                std::upper_bound(v.offsets, v.offsets + n_items + 1, static_cast<int64_t>(j)) - v.offsets) -
            1;
      }
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: item %zu, input '%s': id %lld is outside its embedding table's %llu rows",
                           item, name, static_cast<long long>(id),
                           static_cast<unsigned long long>(spec.id_limit));
    }
  }
  return Status::Ok();
}

}  // namespace

Status Session::Score(const float* features, size_t n_items, float* scores, size_t scores_capacity) {
  const ModelData& m = *impl_->model;
  if (Status s = CheckOneDenseInput(m, "Score", false); !s.ok()) return s;
  if (!features) return Status::Error(StatusCode::kInvalidArgument, "Score: null features");
  if (Status s = CheckScoreArgs(n_items, scores, scores_capacity, m); !s.ok()) return s;
  if (m.graph.packed.present()) {
    // Every row checked before any is scored, so that a bad id leaves `scores` untouched.
    if (Status s = CheckPackedRows(m, features, n_items); !s.ok()) return s;
    const size_t chunk = impl_->packed_chunk, n_tasks = static_cast<size_t>(m.num_tasks());
    for (size_t first = 0; first < n_items; first += chunk) {
      const size_t k = std::min(chunk, n_items - first);
      UnpackPackedRows(*impl_, features, first, k);
      impl_->Score(impl_->packed_views.data(), nullptr, k, scores + first * n_tasks);
    }
    return Status::Ok();
  }
  InputView view;
  view.data = features;
  view.size = n_items * static_cast<size_t>(m.input_dim);
  impl_->Score(&view, nullptr, n_items, scores);
  return Status::Ok();
}

Status Session::Score(const InputView* inputs, size_t num_inputs, size_t n_items, float* scores,
                      size_t scores_capacity) {
  const ModelData& m = *impl_->model;
  const graph::Graph& g = m.graph;
  if (!inputs && num_inputs > 0) return Status::Error(StatusCode::kInvalidArgument, "Score: null inputs");
  if (num_inputs != g.inputs.size()) {
    return Status::Error(StatusCode::kInvalidArgument, "Score: %zu inputs given; the model takes %zu",
                         num_inputs, g.inputs.size());
  }
  if (Status s = CheckScoreArgs(n_items, scores, scores_capacity, m); !s.ok()) return s;
  const bool named = inputs[0].name != nullptr;
  InputView* ordered = impl_->ordered.data();
  for (size_t i = 0; i < num_inputs; ++i) {
    if ((inputs[i].name != nullptr) != named) {
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: inputs[%zu] %s a name but inputs[0] %s; name all of them or none", i,
                           named ? "lacks" : "has", named ? "has one" : "does not");
    }
    size_t at = i;
    if (named) {
      for (at = 0; at < g.inputs.size() && g.inputs[at].name != inputs[i].name; ++at) {
      }
      if (at == g.inputs.size()) {
        return Status::Error(StatusCode::kInvalidArgument, "Score: the model has no input named '%s'",
                             inputs[i].name);
      }
      for (size_t j = 0; j < i; ++j) {
        if (std::strcmp(inputs[j].name, inputs[i].name) == 0) {
          return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s' is given twice",
                               inputs[i].name);
        }
      }
    }
    ordered[at] = inputs[i];
  }
  for (size_t i = 0; i < num_inputs; ++i) {
    if (Status s = CheckView(ordered[i], g.inputs[i], m.inputs[i], n_items); !s.ok()) return s;
  }
  impl_->Score(ordered, nullptr, n_items, scores);
  return Status::Ok();
}

Status Session::ScoreQuantized(const int8_t* features, size_t n_items, float* scores,
                               size_t scores_capacity) {
  const ModelData& m = *impl_->model;
  if (Status s = CheckOneDenseInput(m, "ScoreQuantized", true); !s.ok()) return s;
  if (!features) return Status::Error(StatusCode::kInvalidArgument, "Score: null features");
  if (Status s = CheckScoreArgs(n_items, scores, scores_capacity, m); !s.ok()) return s;
  impl_->Score(nullptr, features, n_items, scores);
  return Status::Ok();
}

Status Session::QuantizeInput(const float* features, size_t n_items, int8_t* quantized,
                              size_t quantized_capacity) const {
  const ModelData& m = *impl_->model;
  if (Status s = CheckOneDenseInput(m, "QuantizeInput", true); !s.ok()) return s;
  if (!features || !quantized)
    return Status::Error(StatusCode::kInvalidArgument, "QuantizeInput: null argument");
  const size_t dim = static_cast<size_t>(m.input_dim);
  if (n_items > SIZE_MAX / dim)
    return Status::Error(StatusCode::kInvalidArgument, "QuantizeInput: too many items");
  if (quantized_capacity < n_items * dim) {
    return Status::Error(StatusCode::kBufferTooSmall, "QuantizeInput: output holds %zu values, need %zu",
                         quantized_capacity, n_items * dim);
  }
  GenericRowKernels().quantize(features, n_items * dim, m.input_inv_scale, m.input_zero_point, quantized);
  return Status::Ok();
}

Backend Session::backend() const { return impl_->backend; }
const char* Session::isa() const { return impl_->executors[0]->isa(); }
int Session::tile_items() const { return static_cast<int>(impl_->tile); }
size_t Session::arena_bytes() const {
  size_t total = 0;
  for (const auto& e : impl_->executors) total += e->arena_bytes();
  return total;
}

}  // namespace mmoe
