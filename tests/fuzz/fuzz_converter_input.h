// The contract every converter reader fuzz target checks: a reader either returns or throws
// ConvertError whose message starts with the input's name (one of `labels`). Any other exception (a JSON type
// error, a length error, a bad_alloc from a size read from the file) means some input was not checked, and
// aborts so that libFuzzer records it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <string>

#include "mmoe/converter/float_model.h"

namespace mmoe::fuzz {

template <typename Fn>
void ExpectConvertErrorOnly(std::initializer_list<const char*> labels, Fn&& fn) {
  try {
    fn();
  } catch (const converter::ConvertError& e) {
    bool named = false;
    for (const char* label : labels) named = named || std::string(e.what()).rfind(label, 0) == 0;
    if (!named) {
      std::fprintf(stderr, "error does not name the input: %s\n", e.what());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception (not ConvertError): %s\n", e.what());
    std::abort();
  }
}

}  // namespace mmoe::fuzz
