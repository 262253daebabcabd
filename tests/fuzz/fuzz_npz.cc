// libFuzzer target: a model's inputs by name from .npz archives (converter/src/io/npz.cpp,
// input_files.cpp: the zip container, stored, deflated and zip64 members, each member's .npy)
// and from .csv with a header, read against a model with ids, a bag and dense features.
#include <cstdint>
#include <string>

#include "fuzz_converter_input.h"
#include "mmoe/converter/float_model.h"
#include "mmoe/converter/inputs.h"

namespace {

const mmoe::graph::Graph& Inputs() {
  static const mmoe::graph::Graph graph = [] {
    mmoe::converter::GraphBuilder b("fuzz");
    b.IdsInput("user", mmoe::graph::InputKind::kIds);
    b.IdsInput("item", mmoe::graph::InputKind::kIds);
    b.IdsInput("tags", mmoe::graph::InputKind::kBag);
    b.Input("dense", 3, {"age", "price", "hour"});
    return b.model().graph;
  }();
  return graph;
}

// What the readers promise of what they return: every array as the model needs it.
void CheckShape(const mmoe::converter::Inputs& in) {
  if (in.rows < 0 || in.arrays.size() != 4) std::abort();
  if (in.arrays[0].ids.size() != static_cast<size_t>(in.rows)) std::abort();
  const auto& bag = in.arrays[2];
  if (bag.offsets.size() != static_cast<size_t>(in.rows) + 1 || bag.offsets.back() != static_cast<int64_t>(bag.ids.size()))
    std::abort();
  if (in.arrays[3].floats.data.size() != static_cast<size_t>(in.rows) * 3) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  mmoe::fuzz::ExpectConvertErrorOnly({"in.npz"}, [&] { CheckShape(mmoe::converter::ReadNpzInputs(bytes, "in.npz", Inputs())); });
  mmoe::fuzz::ExpectConvertErrorOnly({"in.csv"}, [&] { CheckShape(mmoe::converter::ParseCsvInputs(bytes, "in.csv", Inputs())); });
  return 0;
}
