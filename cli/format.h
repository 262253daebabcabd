// Small formatting helpers shared by the subcommands.
#pragma once

#include <cstdint>
#include <string>

namespace mmoe::cli {

// 12345678 -> "12,345,678"
inline std::string Thousands(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

}  // namespace mmoe::cli
