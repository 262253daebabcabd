// libFuzzer target: the architecture JSON reader (converter/src/io/import.cpp) on arbitrary
// text, importing against the shipped seed model's tensors so that well-formed inputs reach
// the shape and tensor checks.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_converter_input.h"
#include "mmoe/converter/io.h"

namespace {

const std::map<std::string, mmoe::converter::Tensor>& SeedTensors() {
  static const auto tensors =
      mmoe::converter::ReadSafetensors(std::string(MMOE_SOURCE_DIR) + "/examples/seed/seed_mmoe.safetensors");
  return tensors;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& tensors = SeedTensors();
  mmoe::fuzz::ExpectConvertErrorOnly({"arch", "seed_mmoe.safetensors"}, [&] {
    const nlohmann::json arch = mmoe::converter::ParseJsonStrict(text, "arch");
    mmoe::converter::ImportModelFromArch(arch, tensors, "seed_mmoe.safetensors");
  });
  return 0;
}
