// Helpers shared by the converter I/O tests: a scratch directory and error-message checks.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "mmoe/converter/io.h"

namespace mmoe::converter::testing {

// The node that computes the tensor called `name` (fails the test if there is none).
inline const graph::Node& NodeNamed(const FloatModel& m, const std::string& name) {
  for (const graph::Node& n : m.graph.nodes) {
    if (m.graph.tensors[n.output].name == name) return n;
  }
  FAIL("no node computes a tensor named '" << name << "'");
  return m.graph.nodes.front();
}

inline const FloatDense& DenseNamed(const FloatModel& m, const std::string& name) {
  const graph::Node& n = NodeNamed(m, name);
  REQUIRE(n.op == graph::Op::kDense);
  return m.dense[n.param];
}

// The names of the tensors a node reads.
inline std::vector<std::string> InputNames(const FloatModel& m, const std::string& node) {
  std::vector<std::string> names;
  for (int32_t t : NodeNamed(m, node).inputs) names.push_back(m.graph.tensors[t].name);
  return names;
}

inline int CountOp(const FloatModel& m, graph::Op op) {
  int n = 0;
  for (const graph::Node& node : m.graph.nodes) n += node.op == op;
  return n;
}

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
