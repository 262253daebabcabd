// Sources of a model's bytes (see ModelBytes in model_data.h).
#pragma once

#include <cstddef>
#include <memory>

#include "model_data.h"

namespace mmoe {

// Maps `path` read-only.
Status MapFile(const char* path, std::unique_ptr<ModelBytes>* out);
// Copies `size` bytes into a 64-byte aligned buffer the result owns.
Status CopyBuffer(const void* data, size_t size, std::unique_ptr<ModelBytes>* out);
// Uses the caller's buffer, which must be 8-byte aligned and outlive the model.
Status BorrowBuffer(const void* data, size_t size, std::unique_ptr<ModelBytes>* out);

}  // namespace mmoe
