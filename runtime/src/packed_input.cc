// Format 2.2's packed input row (DeepCTR-Torch's X): Session::Score(features) on a packed
// model checks the rows' id columns where the caller holds them, then unpacks a chunk of rows
// at a time into the session's buffers as the views Score(inputs) takes. Compiled with -Os
// with the cold code (runtime/CMakeLists.txt): a few conversions per item beside the network.
#include <cstring>

#include "model_data.h"
#include "session_impl.h"

namespace mmoe {

namespace {

// A packed row's id: the float truncated toward zero, as torch's .long() and ONNX's Cast do;
// false for NaN, infinities and values beyond int64.
bool PackedId(float v, int64_t* id) {
  if (!(v > -9.2e18f && v < 9.2e18f)) return false;
  *id = static_cast<int64_t>(v);
  return true;
}

}  // namespace

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
        const bool is_id = PackedId(row[j], &id);
        if (is_id && ((spec.has_padding_id && id == spec.padding_id) ||
                      (id >= 0 && static_cast<uint64_t>(id) < spec.id_limit)))
          continue;
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

// Rows [first, first + k) of a checked packed call unpacked into the session's buffers, as
// views in graph order (what Score(inputs) would have been given).
void UnpackPackedRows(Session::Impl& impl, const float* x, size_t first, size_t k) {
  const ModelData& m = *impl.model;
  const graph::PackedInput& p = m.graph.packed;
  const size_t width = static_cast<size_t>(p.width);
  float* floats = impl.unpacked_floats.get();
  int64_t* ids = impl.unpacked_ids.get();
  for (size_t i = 0; i < m.graph.inputs.size(); ++i) {
    const size_t at = static_cast<size_t>(p.first[i]), count = static_cast<size_t>(p.count[i]);
    const graph::InputKind kind = m.graph.inputs[i].kind;
    InputView& v = impl.ordered[i];
    v = InputView();
    v.size = k * count;
    if (kind == graph::InputKind::kDense) {
      for (size_t r = 0; r < k; ++r)
        std::memcpy(floats + r * count, x + (first + r) * width + at, count * sizeof(float));
      v.data = floats;
      floats += impl.packed_chunk * count;
      continue;
    }
    for (size_t r = 0; r < k; ++r) {
      const float* row = x + (first + r) * width + at;
      for (size_t j = 0; j < count; ++j) {
        if (!PackedId(row[j], &ids[r * count + j]))
          ids[r * count + j] = -1;  // a default row's id (checked before)
      }
    }
    v.data = ids;
    v.type = DataType::kInt64;
    ids += impl.packed_chunk * count;
    if (kind == graph::InputKind::kBag) {
      for (size_t r = 0; r <= k; ++r) ids[r] = static_cast<int64_t>(r * count);
      v.offsets = ids;
      ids += impl.packed_chunk + 1;
    }
  }
}

}  // namespace mmoe
