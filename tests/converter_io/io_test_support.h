// Helpers shared by the converter I/O tests: a scratch directory and error-message checks.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "mmoe/converter/io.h"

namespace mmoe::converter::testing {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("mmoe_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The message ConvertError carries, or "" if `fn` did not throw it.
template <typename Fn>
std::string ErrorOf(Fn fn) {
  try {
    fn();
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "";
}

}  // namespace mmoe::converter::testing

// Checks that `expr` throws ConvertError whose message contains every further argument.
#define CHECK_ERROR_HAS(expr, ...)                                                            \
  do {                                                                                        \
    const std::string message_ = ErrorOf([&] { (void)(expr); });                              \
    INFO("message: " << message_);                                                            \
    CHECK(!message_.empty());                                                                 \
    for (const char* part_ : {__VA_ARGS__}) CHECK(message_.find(part_) != std::string::npos); \
  } while (0)
