// Small formatting helpers shared by the subcommands.
#pragma once

#include <cstdint>
#include <string>

#include "graph/graph.h"

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

// "100 inputs" for a model whose one input is dense (its features), else
// "4 inputs (user: ids, tags: bag, dense: 3 floats)".
inline std::string DescribeInputs(const graph::Graph& g) {
  if (g.inputs.size() == 1 && g.inputs[0].kind == graph::InputKind::kDense)
    return std::to_string(g.tensors[g.inputs[0].tensor].width) + " inputs";
  std::string text = std::to_string(g.inputs.size()) + " inputs (";
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const graph::Input& in = g.inputs[i];
    text += (i ? ", " : "") + in.name + ": ";
    text += in.kind == graph::InputKind::kDense ? std::to_string(g.tensors[in.tensor].width) + " floats"
                                                : graph::InputKindName(in.kind);
  }
  text += ")";
  if (g.packed.present())
    text += ", packed in " + g.packed.name + " (" + std::to_string(g.packed.width) + " floats per item)";
  return text;
}

}  // namespace mmoe::cli
