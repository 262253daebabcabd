// Deterministic 0/1 features for benchmarks (the seed model's inputs are binary), shared by
// `mmoe bench` and bench/mmoe_bench_backends so that their figures score the same rows.
// splitmix64 rather than <random>'s distributions, whose output differs between standard
// libraries.
#pragma once

#include <cstdint>
#include <vector>

namespace mmoe::cli {

inline std::vector<float> BinaryFeatures(size_t count) {
  std::vector<float> x(count);
  uint64_t state = 0x6d6d6f652d656467ull;  // "mmoe-edg"
  for (float& v : x) {
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    v = static_cast<float>((z ^ (z >> 31)) >> 63);
  }
  return x;
}

}  // namespace mmoe::cli
