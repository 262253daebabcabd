// libFuzzer target: ONNX files (converter/src/onnx/): the protobuf through libonnx, then the
// importer's probe evaluation and mapping onto the model graph. Either an import or a
// ConvertError naming the file; a model that comes out must pass the converter's Validate.
#include <cstdint>
#include <string>

#include "fuzz_converter_input.h"
#include "mmoe/converter/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  mmoe::fuzz::ExpectConvertErrorOnly({"in.onnx"}, [&] {
    const mmoe::converter::OnnxImport import = mmoe::converter::ImportOnnxBytes(bytes, "in.onnx");
    mmoe::converter::Validate(import.model);
  });
  return 0;
}
