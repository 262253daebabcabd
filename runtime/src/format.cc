#include "format.h"

#include <cstdio>

namespace mmoe {

std::string FormatV(const char* format, va_list args) {
  char buf[320];
  std::vsnprintf(buf, sizeof(buf), format, args);
  return buf;
}

std::string Format(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::string s = FormatV(format, args);
  va_end(args);
  return s;
}

}  // namespace mmoe
