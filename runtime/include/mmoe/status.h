// Status: how every mmoe runtime call reports failure. No exceptions cross the API.
#pragma once

#include <cstddef>

namespace mmoe {

// Stable numeric codes; the C API (mmoe_c.h) uses the same values.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,     // null pointer, zero or too large a count, bad option
  kIoError = 2,             // the model file cannot be opened, read or mapped
  kNotAModel = 3,           // no "MMOE" file identifier: not an mmoe-edge model
  kUnsupportedVersion = 4,  // format major version newer than this runtime reads
  kCorruptModel = 5,        // truncated or malformed FlatBuffer (verifier failed)
  kInvalidModel = 6,        // well-formed file whose contents break an invariant
  kBufferTooSmall = 7,      // caller's output buffer cannot hold the result
  kUnavailable = 8,         // requested backend not built in or not supported by this CPU
  kOutOfMemory = 9,
  kInternal = 10,
  kChecksumMismatch = 11,    // the file's CRC-32C trailer disagrees with its bytes, or is missing
  kUnsupportedFeature = 12,  // the file requires a feature this runtime does not implement
};

// Name of a code, e.g. "INVALID_MODEL".
const char* StatusCodeName(StatusCode code);

// A code and a message naming what is wrong. The message lives in a fixed buffer so that
// reporting an error never allocates (errors can come from the allocation-free score call).
class Status {
 public:
  // Only the terminator is written: an OK status is returned by every Score call, and
  // zeroing the whole message buffer there cost two 256-byte stores per call.
  Status() { message_[0] = '\0'; }
  static Status Ok() { return Status(); }
  // printf-style message.
  static Status Error(StatusCode code, const char* format, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 2, 3)))
#endif
      ;

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const char* message() const { return message_; }

 private:
  static constexpr size_t kMaxMessage = 256;
  StatusCode code_ = StatusCode::kOk;
  char message_[kMaxMessage];  // NUL-terminated
};

}  // namespace mmoe
