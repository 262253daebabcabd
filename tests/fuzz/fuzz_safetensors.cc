// libFuzzer target: the .safetensors reader (converter/src/io/safetensors.cpp) on arbitrary
// bytes, and the seed key layout import on whatever tensors it returns.
#include <cmath>
#include <cstdint>
#include <map>
#include <string>

#include "fuzz_converter_input.h"
#include "mmoe/converter/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::map<std::string, mmoe::converter::Tensor> tensors;
  mmoe::fuzz::ExpectConvertErrorOnly({"weights.safetensors"}, [&] {
    std::map<std::string, std::string> metadata;
    tensors = mmoe::converter::ParseSafetensors(bytes, "weights.safetensors", &metadata);
    for (const auto& [name, t] : tensors) {
      size_t count = 1;
      for (int64_t d : t.shape) count *= static_cast<size_t>(d);
      if (t.data.size() != count) std::abort();
      for (float v : t.data)
        if (!std::isfinite(v)) std::abort();
    }
  });
  if (!tensors.empty()) {
    mmoe::fuzz::ExpectConvertErrorOnly({"weights"},
                                       [&] { mmoe::converter::ImportSeedLayout(tensors, "weights"); });
  }
  return 0;
}
