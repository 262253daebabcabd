// Deterministic inputs for benchmarks, shared by `mmoe bench` and bench/mmoe_bench_backends so
// that their figures score the same items: 0/1 features for a model of one dense input (the
// seed model's inputs are binary), pseudo-random ids, bags and features otherwise.
// splitmix64 rather than <random>'s distributions, whose output differs between standard
// libraries.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "mmoe/converter/inputs.h"
#include "mmoe/mmoe.h"

namespace mmoe::cli {

// splitmix64: the next pseudo-random 64 bits of `state`.
inline uint64_t NextRandom(uint64_t* state) {
  *state += 0x9e3779b97f4a7c15ull;
  uint64_t z = *state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline std::vector<float> BinaryFeatures(size_t count) {
  std::vector<float> x(count);
  uint64_t state = 0x6d6d6f652d656467ull;  // "mmoe-edg"
  for (float& v : x) v = static_cast<float>(NextRandom(&state) >> 63);
  return x;
}

// `n` items for a model with sparse inputs: ids uniform over their table's rows, bags of
// bag_length such ids, dense features in [0, 1).
inline converter::Inputs RandomItems(const Model& model, int64_t n, int bag_length) {
  uint64_t state = 0x6d6d6f652d656467ull;
  converter::Inputs out;
  out.rows = n;
  for (int i = 0; i < model.num_inputs(); ++i) {
    const InputInfo info = model.input(i);
    converter::InputArray a;
    a.name = info.name;
    if (info.kind == InputKind::kDense) {
      a.kind = graph::InputKind::kDense;
      a.floats.rows = n;
      a.floats.cols = info.width;
      a.floats.data.resize(static_cast<size_t>(n) * static_cast<size_t>(info.width));
      for (float& v : a.floats.data)
        v = static_cast<float>(NextRandom(&state) >> 40) / static_cast<float>(1 << 24);
    } else {
      const bool bag = info.kind == InputKind::kBag;
      a.kind = bag ? graph::InputKind::kBag : graph::InputKind::kIds;
      const int64_t per_item = bag ? bag_length : 1;
      a.ids.resize(static_cast<size_t>(n * per_item));
      for (int64_t& id : a.ids)
        id = static_cast<int64_t>(NextRandom(&state) % static_cast<uint64_t>(info.rows));
      if (bag) {
        a.offsets.resize(static_cast<size_t>(n) + 1);
        for (int64_t r = 0; r <= n; ++r) a.offsets[static_cast<size_t>(r)] = r * per_item;
      }
    }
    out.arrays.push_back(std::move(a));
  }
  return out;
}

}  // namespace mmoe::cli
