// Format 2.2's packed input row (DeepCTR-Torch's X): Session::Score(features) on a packed
// model checks the rows' id columns where the caller holds them, then unpacks a chunk of rows
// at a time into the session's buffers as the views Score(inputs) takes. Compiled with -Os
// with the cold code (runtime/CMakeLists.txt): a few conversions per item beside the network.
#include <cstring>

#include "model_data.h"
#include "session_impl.h"

namespace mmoe {

// A packed call's ids, checked where the caller holds them (nothing copied): each id column's
// value must be an id (finite, within int64) and, unless it is the bag's padding id, within its
// table -- unless the embedding answers unknown ids with a default row (id_limit 0).
Status CheckPackedRows(const ModelData& m, const float* x, size_t n_items) {
  const graph::PackedInput& p = m.graph.packed;
  const size_t width = static_cast<size_t>(p.width);
  for (size_t i = 0; i < m.graph.inputs.size(); ++i) {
    const graph::Input& input = m.graph.inputs[i];
    const InputSpec& spec = m.inputs[i];
    if (input.kind == graph::InputKind::kDense || spec.id_limit == 0) continue;
    const size_t at = static_cast<size_t>(p.first[i]), count = static_cast<size_t>(p.count[i]);
    for (size_t r = 0; r < n_items; ++r) {
      const float* row = x + r * width + at;
      for (size_t j = 0; j < count; ++j) {
        int64_t id = 0;
        if (graph::PackedId(row[j], &id) && spec.Accepts(id)) continue;
        return Status::Error(StatusCode::kInvalidArgument,
                             "Score: item %zu, input '%s' (%s column %zu): %g is not an id of its embedding "
                             "table's %llu rows",
                             r, input.name.c_str(), p.name.c_str(), at + j, static_cast<double>(row[j]),
                             static_cast<unsigned long long>(spec.id_limit));
      }
    }
  }
  return Status::Ok();
}

// Rows [first, first + k) of a checked packed call unpacked into the buffers the session laid
// out (session_create.cc): each input's values, and its view's size.
void UnpackPackedRows(Session::Impl& impl, const float* x, size_t first, size_t k) {
  const graph::Graph& g = impl.model->graph;
  const size_t width = static_cast<size_t>(g.packed.width);
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const size_t at = static_cast<size_t>(g.packed.first[i]), count = static_cast<size_t>(g.packed.count[i]);
    InputView& v = impl.packed_views[i];
    v.size = k * count;
    const float* row = x + first * width + at;
    if (g.inputs[i].kind == graph::InputKind::kDense) {
      float* out = static_cast<float*>(const_cast<void*>(v.data));
      for (size_t r = 0; r < k; ++r, row += width) std::memcpy(out + r * count, row, count * sizeof(float));
      continue;
    }
    int64_t* out = static_cast<int64_t*>(const_cast<void*>(v.data));
    for (size_t r = 0; r < k; ++r, row += width) {
      for (size_t j = 0; j < count; ++j) {
        if (!graph::PackedId(row[j], &out[r * count + j]))
          out[r * count + j] = -1;  // a default row's id (checked before)
      }
    }
  }
}

}  // namespace mmoe
