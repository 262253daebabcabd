#include "mmoe/status.h"

#include <cstdarg>
#include <cstdio>

namespace mmoe {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kIoError:
      return "IO_ERROR";
    case StatusCode::kNotAModel:
      return "NOT_A_MODEL";
    case StatusCode::kUnsupportedVersion:
      return "UNSUPPORTED_VERSION";
    case StatusCode::kCorruptModel:
      return "CORRUPT_MODEL";
    case StatusCode::kInvalidModel:
      return "INVALID_MODEL";
    case StatusCode::kBufferTooSmall:
      return "BUFFER_TOO_SMALL";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kOutOfMemory:
      return "OUT_OF_MEMORY";
    case StatusCode::kInternal:
      return "INTERNAL";
    case StatusCode::kChecksumMismatch:
      return "CHECKSUM_MISMATCH";
    case StatusCode::kUnsupportedFeature:
      return "UNSUPPORTED_FEATURE";
  }
  return "UNKNOWN";
}

Status Status::Error(StatusCode code, const char* format, ...) {
  Status s;
  s.code_ = code;
  va_list args;
  va_start(args, format);
  std::vsnprintf(s.message_, kMaxMessage, format, args);
  va_end(args);
  return s;
}

}  // namespace mmoe
