// The deterministic scalar arithmetic (numerics.h) and the reference kernels built on it,
// against values derived by hand and against the C library in double precision.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "kernels/row_ops.h"
#include "numerics.h"

namespace mmoe {
namespace {

using numerics::Exp;
using numerics::QuantizeFeature;
using numerics::QuantizeFeature16;
using numerics::Requantize;
using numerics::RoundHalfEven;
using numerics::Sigmoid;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// --- RoundHalfEven -----------------------------------------------------------------------

TEST_CASE("RoundHalfEven rounds ties to even") {
  CHECK(RoundHalfEven(0.5f) == 0.0f);
  CHECK(RoundHalfEven(1.5f) == 2.0f);
  CHECK(RoundHalfEven(2.5f) == 2.0f);
  CHECK(RoundHalfEven(3.5f) == 4.0f);
  // -0.5 rounds to zero. The magic-number sum gives +0 rather than -0; both convert to the
  // integer 0, which is all callers use.
  CHECK(RoundHalfEven(-0.5f) == 0.0f);
  CHECK(RoundHalfEven(-1.5f) == -2.0f);
  CHECK(RoundHalfEven(-2.5f) == -2.0f);
  CHECK(RoundHalfEven(0.49999997f) == 0.0f);  // the float just below 0.5
  CHECK(RoundHalfEven(0.50000006f) == 1.0f);  // the float just above 0.5
  CHECK(RoundHalfEven(-7.0f) == -7.0f);
  // Near the top of the documented range |v| < 2^22, where halves are still representable.
  CHECK(RoundHalfEven(4194302.5f) == 4194302.0f);
  CHECK(RoundHalfEven(4194303.5f) == 4194304.0f);
  CHECK(RoundHalfEven(-4194302.5f) == -4194302.0f);
  CHECK(RoundHalfEven(-4194303.5f) == -4194304.0f);
  CHECK(RoundHalfEven(4194303.0f) == 4194303.0f);
  CHECK(RoundHalfEven(4194303.25f) == 4194303.0f);
  CHECK(RoundHalfEven(4194303.75f) == 4194304.0f);
}

TEST_CASE("RoundHalfEven equals nearbyint (ties to even) over |v| < 2^22") {
  // Every half-integer in a stride through the range, its neighbours, and random values.
  int mismatches = 0;
  for (int64_t k = -(1 << 22); k < (1 << 22); k += 97) {
    const float half = static_cast<float>(k) + 0.5f;
    for (float v : {half, std::nextafter(half, -kInf), std::nextafter(half, kInf)}) {
      if (std::fabs(v) >= 4194304.0f) continue;
      if (RoundHalfEven(v) != std::nearbyint(v)) ++mismatches;
    }
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-4194303.0f, 4194303.0f);
  for (int i = 0; i < 200000; ++i) {
    const float v = dist(rng) / static_cast<float>(1 << (i % 23));  // all magnitudes
    if (RoundHalfEven(v) != std::nearbyint(v)) ++mismatches;
  }
  CHECK(mismatches == 0);
}

// --- Requantize ------------------------------------------------------------------------------

TEST_CASE("Requantize rounds ties to even, adds the zero point and clamps") {
  CHECK(Requantize(100, 0.5f, 0, -128, 127) == 50);
  CHECK(Requantize(5, 0.5f, 0, -128, 127) == 2);    // 2.5 -> 2
  CHECK(Requantize(7, 0.5f, 0, -128, 127) == 4);    // 3.5 -> 4
  CHECK(Requantize(-5, 0.5f, 0, -128, 127) == -2);  // -2.5 -> -2
  CHECK(Requantize(7, 0.5f, 10, -128, 127) == 14);  // 4 + 10
  // Clamped to the type's range, after adding the zero point.
  CHECK(Requantize(120, 1.0f, 10, -128, 127) == 127);
  CHECK(Requantize(-1000, 1.0f, 10, -128, 127) == -128);
  CHECK(Requantize(-138, 1.0f, 10, -128, 127) == -128);
  CHECK(Requantize(-137, 1.0f, 10, -128, 127) == -127);
  CHECK(Requantize(40000, 1.0f, 0, -32768, 32767) == 32767);
  CHECK(Requantize(-40000, 1.0f, 0, -32768, 32767) == -32768);
}

TEST_CASE("Requantize with ReLU bounds: the zero point is the floor") {
  CHECK(Requantize(-1, 1.0f, -128, -128, 127) == -128);
  CHECK(Requantize(-1000, 0.1f, 7, 7, 127) == 7);
  CHECK(Requantize(3, 1.0f, 7, 7, 127) == 10);
  CHECK(Requantize(1, 0.4f, 7, 7, 127) == 7);  // 0.4 rounds to 0: still the zero point
  CHECK(Requantize(500, 1.0f, 7, 7, 127) == 127);
}

TEST_CASE("Requantize stays defined for the largest accumulators and multipliers") {
  // float(acc) * m reaches 2^61: the clamp before rounding keeps the int conversion in range.
  CHECK(Requantize(INT32_MAX, 0x1p30f, 0, -32768, 32767) == 32767);
  CHECK(Requantize(INT32_MIN, 0x1p30f, 0, -32768, 32767) == -32768);
  CHECK(Requantize(INT32_MAX, 0x1p30f, -128, -128, 127) == 127);
  CHECK(Requantize(INT32_MIN, 0x1p-64f, 5, -128, 127) == 5);  // -2^-33 rounds to 0
}

// --- QuantizeFeature -------------------------------------------------------------------------

TEST_CASE("QuantizeFeature: scale, zero point, ties, NaN and infinities") {
  const float inv = 32.0f;  // scale 1/32
  CHECK(QuantizeFeature(1.0f, inv, -10) == 22);
  CHECK(QuantizeFeature(0.0f, inv, -10) == -10);
  CHECK(QuantizeFeature(1.0f / 64, inv, -10) == -10);  // 0.5 -> 0
  CHECK(QuantizeFeature(3.0f / 64, inv, -10) == -8);   // 1.5 -> 2
  CHECK(QuantizeFeature(-3.0f / 64, inv, -10) == -12);
  // NaN is a missing feature: it reads as the real value 0, i.e. the zero point.
  CHECK(QuantizeFeature(kNaN, inv, -10) == -10);
  CHECK(QuantizeFeature(-kNaN, inv, 37) == 37);
  CHECK(QuantizeFeature(kInf, inv, -10) == 127);
  CHECK(QuantizeFeature(-kInf, inv, -10) == -128);
  CHECK(QuantizeFeature(1e30f, inv, 0) == 127);
  CHECK(QuantizeFeature(-1e30f, inv, 0) == -128);
  // Zero points at either end of the int8 range.
  CHECK(QuantizeFeature(-1e9f, 1.0f, 127) == -128);
  CHECK(QuantizeFeature(1e9f, 1.0f, -128) == 127);
  CHECK(QuantizeFeature(0.0f, 1.0f, -128) == -128);
  CHECK(QuantizeFeature(255.0f, 1.0f, -128) == 127);
}

// --- Exp and Sigmoid --------------------------------------------------------------------------

TEST_CASE("Exp is within 3e-7 relative error of exp over [-87, 88]") {
  double worst = 0.0;
  float worst_x = 0.0f;
  auto check = [&](float x) {
    const double exact = std::exp(static_cast<double>(x));
    const double rel = std::fabs(static_cast<double>(Exp(x)) - exact) / exact;
    if (rel > worst) {
      worst = rel;
      worst_x = x;
    }
  };
  constexpr int kSteps = 1 << 22;
  for (int i = 0; i <= kSteps; ++i) check(-87.0f + 175.0f * static_cast<float>(i) / kSteps);
  // Reduction boundaries: r = +-ln2/2 around every n.
  for (int n = -125; n <= 126; ++n) {
    const float mid = (static_cast<float>(n) + 0.5f) * 0.69314718f;
    for (float x : {std::nextafter(mid, -kInf), mid, std::nextafter(mid, kInf)}) {
      if (x >= -87.0f && x <= 88.0f) check(x);
    }
  }
  std::printf("Exp: max relative error %.3g at x = %.9g\n", worst, static_cast<double>(worst_x));
  CHECK(worst < 3e-7);
}

TEST_CASE("Exp is exact at 0 and normal at the ends of its range") {
  CHECK(Exp(0.0f) == 1.0f);
  CHECK(Exp(-0.0f) == 1.0f);
  CHECK(std::isnormal(Exp(-87.0f)));
  CHECK(std::isfinite(Exp(88.0f)));
  CHECK(Exp(88.0f) > 1.6e38f);
  CHECK(Exp(numerics::kSoftmaxFloor) > 0.0f);
}

TEST_CASE("Sigmoid is monotonic, bounded in [0, 1] and 0.5 at 0") {
  CHECK(Sigmoid(0.0f) == 0.5f);
  float prev = Sigmoid(-200.0f);
  int decreases = 0, out_of_range = 0;
  double worst = 0.0;
  for (int i = -2000000; i <= 2000000; ++i) {
    const float z = static_cast<float>(i) * 5e-5f;  // [-100, 100]
    const float s = Sigmoid(z);
    if (s < prev) ++decreases;
    if (!(s >= 0.0f && s <= 1.0f)) ++out_of_range;
    worst = std::max(worst, std::fabs(s - 1.0 / (1.0 + std::exp(-static_cast<double>(z)))));
    prev = s;
  }
  CHECK(decreases == 0);
  CHECK(out_of_range == 0);
  CHECK(worst < 1e-6);
  // Beyond the clamp at +-80 the value stays put, and infinities are clamped too.
  CHECK(Sigmoid(1000.0f) == 1.0f);
  CHECK(Sigmoid(kInf) == 1.0f);
  CHECK(Sigmoid(-kInf) == Sigmoid(-80.0f));
  CHECK(Sigmoid(-80.0f) > 0.0f);
}

// --- Reference kernels ------------------------------------------------------------------------

TEST_CASE("softmax row kernel: probabilities sum to 1 within 1e-6") {
  const RowKernels& k = GenericRowKernels();
  std::mt19937 rng(11);
  double worst_sum = 0.0, worst_vs_exact = 0.0;
  for (int n : {1, 2, 3, 8, 64, 256}) {
    for (float spread : {0.1f, 5.0f, 30.0f, 200.0f}) {
      std::uniform_real_distribution<float> dist(-spread, spread);
      const size_t batch = 16;
      std::vector<float> logits(batch * n), probs(batch * n);
      for (float& z : logits) z = dist(rng);
      k.softmax(logits.data(), static_cast<size_t>(n), batch, n, probs.data());
      for (size_t i = 0; i < batch; ++i) {
        const float* z = &logits[i * n];
        const float* p = &probs[i * n];
        double sum = 0.0, exact_sum = 0.0, zmax = z[0];
        for (int j = 0; j < n; ++j) zmax = std::max<double>(zmax, z[j]);
        for (int j = 0; j < n; ++j) exact_sum += std::exp(std::max(z[j] - zmax, -32.0));
        for (int j = 0; j < n; ++j) {
          sum += p[j];
          CHECK(std::isnormal(p[j]));  // the floor keeps every probability a normal float
          const double exact = std::exp(std::max(z[j] - zmax, -32.0)) / exact_sum;
          worst_vs_exact = std::max(worst_vs_exact, std::fabs(p[j] - exact));
        }
        worst_sum = std::max(worst_sum, std::fabs(sum - 1.0));
      }
    }
  }
  std::printf("softmax: max |sum - 1| %.3g, max |p - exact| %.3g\n", worst_sum, worst_vs_exact);
  CHECK(worst_sum <= 1e-6);
  CHECK(worst_vs_exact <= 1e-6);
}

// The vectorised softmax kernels pack several items per register and reduce within lane
// groups (4, 8 or 16 lanes); every width 1..20, batch sizes that leave every remainder, a row
// stride wider than n, ties and spreads past the -32 floor must give the scalar bytes.
TEST_CASE("softmax row kernels of every ISA give the scalar bytes") {
  const RowKernels& generic = GenericRowKernels();
  std::mt19937 rng(23);
  int compared = 0;
  for (const char* isa : {"avx512vnni", "avx512vnni256", "avxvnni", "avx2", "i8mm", "neondot", "neon"}) {
    const GemmKernels* k = FindGemmKernels(isa);
    if (k == nullptr) continue;
    for (int n = 1; n <= 20; ++n) {
      for (size_t batch : {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 33}) {
        const size_t stride = static_cast<size_t>(n) + 3;
        std::uniform_real_distribution<float> dist(-40.0f, 40.0f);
        std::vector<float> z(batch * stride);
        for (size_t i = 0; i < z.size(); ++i) {
          // Every third item has tied logits (a repeated value, and its maximum twice).
          z[i] = (i / stride) % 3 == 1 ? static_cast<float>(static_cast<int>(i % 4)) : dist(rng);
        }
        std::vector<float> want(batch * n), got(batch * n, -1.0f);
        generic.softmax(z.data(), stride, batch, n, want.data());
        k->rows->softmax(z.data(), stride, batch, n, got.data());
        INFO(isa << " n=" << n << " batch=" << batch);
        CHECK(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
        ++compared;
      }
    }
  }
  MESSAGE("softmax kernels compared with the scalar one: " << compared << " cases");
  WARN_MESSAGE(compared > 0, "this CPU runs none of the vectorised softmax kernels: nothing compared");
}

// A 2-input, 2-output layer, worked by hand.
//   weights  w = [[3, -2], [1, 4]]
//   stored bias [10, -20] with input zero point 5, folded as bias - zp * sum_k w[c][k]:
//     c0: 10 - 5 * (3 - 2) = 5        c1: -20 - 5 * (1 + 4) = -45
//   inputs (raw int8) x0 = [15, -3], x1 = [127, -128]
//     acc(x0) = [5 + 45 + 6, -45 + 15 - 12]     = [56, -42]
//     acc(x1) = [5 + 381 + 256, -45 + 127 - 512] = [642, -430]
//   multipliers [1/16, 1/4]:
//     real(x0) = [3.5, -10.5]      real(x1) = [40.125, -107.5]
//   int8, output zero point -3: round half even, then + zp:
//     x0: [4 - 3, -10 - 3] = [1, -13]     x1: [40 - 3, -108 - 3] = [37, -111]
//   with ReLU (floor at the zero point -3): x0 = [1, -3], x1 = [37, -3]
struct TinyLayer {
  const int8_t weights[4] = {3, -2, 1, 4};
  const int32_t bias[2] = {5, -45};
  float multipliers[2] = {1.0f / 16, 1.0f / 4};
  DenseLayer layer;

  TinyLayer(DenseOutput output, int32_t zero_point, int32_t lo, int32_t hi) {
    layer.in = 2;
    layer.out = 2;
    layer.weights = weights;
    layer.bias = bias;
    layer.multipliers = multipliers;
    layer.output = output;
    layer.output_zero_point = zero_point;
    layer.output_min = lo;
    layer.output_max = hi;
  }
};

TEST_CASE("reference dense kernel on a hand-computed layer: int8, ReLU, int16 and real outputs") {
  const KernelTable& k = ReferenceKernels();
  const int8_t x[4] = {15, -3, 127, -128};
  const auto i8 = static_cast<int>(ElementType::kInt8);

  TinyLayer plain(DenseOutput::kInt8, -3, -128, 127);
  int8_t y8[4];
  k.dense[i8][static_cast<int>(DenseOutput::kInt8)](plain.layer, 2, x, y8);
  CHECK(std::vector<int>(y8, y8 + 4) == std::vector<int>{1, -13, 37, -111});

  TinyLayer relu(DenseOutput::kInt8, -3, -3, 127);
  k.dense[i8][static_cast<int>(DenseOutput::kInt8)](relu.layer, 2, x, y8);
  CHECK(std::vector<int>(y8, y8 + 4) == std::vector<int>{1, -3, 37, -3});

  // Real outputs: float(acc) * multiplier, no rounding.
  TinyLayer real(DenseOutput::kReal, 0, 0, 0);
  float yf[4];
  k.dense[i8][static_cast<int>(DenseOutput::kReal)](real.layer, 2, x, yf);
  CHECK(std::vector<float>(yf, yf + 4) == std::vector<float>{3.5f, -10.5f, 40.125f, -107.5f});

  // int16 output, zero point 0, multipliers [64, 128]: x0 = [3584, -5376]; x1 = [41088,
  // -55040] clamp to [32767, -32768].
  TinyLayer wide(DenseOutput::kInt16, 0, -32768, 32767);
  wide.multipliers[0] = 64.0f;
  wide.multipliers[1] = 128.0f;
  int16_t y16[4];
  k.dense[i8][static_cast<int>(DenseOutput::kInt16)](wide.layer, 2, x, y16);
  CHECK(std::vector<int>(y16, y16 + 4) == std::vector<int>{3584, -5376, 32767, -32768});
}

TEST_CASE("reference dense kernel reading int16 inputs") {
  // x = [1000, -300]: acc = [5 + 3000 + 600, -45 + 1000 - 1200] = [3605, -245];
  // times [1/16, 1/4] = [225.3125, -61.25]; int8 with zero point -3: 225 clamps so that
  // 225 - 3 stays <= 127 -> 127; -61 - 3 = -64.
  const KernelTable& k = ReferenceKernels();
  TinyLayer plain(DenseOutput::kInt8, -3, -128, 127);
  plain.layer.input = ElementType::kInt16;
  const int16_t x[2] = {1000, -300};
  int8_t y[2];
  k.dense[static_cast<int>(ElementType::kInt16)][static_cast<int>(DenseOutput::kInt8)](plain.layer, 1, x, y);
  CHECK(static_cast<int>(y[0]) == 127);
  CHECK(static_cast<int>(y[1]) == -64);
}

TEST_CASE("mix row kernel on a hand-computed mixture") {
  // Two int8 experts, width 2: e0 = [14, -5] (zero point -2), e1 = [0, 7] (zero point 1).
  // mix scales [0.5, 2], gate probabilities [0.25, 0.75]: a = [0.125, 1.5].
  //   c0: 0.125 * (14 + 2) + 1.5 * (0 - 1) = 2 - 1.5 = 0.5  -> 0 (tie to even) + 3 = 3
  //   c1: 0.125 * (-5 + 2) + 1.5 * (7 - 1) = -0.375 + 9 = 8.625 -> 9 + 3 = 12
  // Without a gate (Shared-Bottom, e0 alone, a = 0.5): [0.5 * 16, 0.5 * -3] = [8, -1.5]
  //   -> [8 + 3, -2 + 3] = [11, 1]
  const RowKernels& k = GenericRowKernels();
  const int8_t e0[2] = {14, -5}, e1[2] = {0, 7};
  const void* experts[2] = {e0, e1};
  const int32_t zero_points[2] = {-2, 1};
  const float scales[2] = {0.5f, 2.0f};
  const float probs[2] = {0.25f, 0.75f};
  MixOutput out;
  out.type = ElementType::kInt8;
  out.zero_point = 3;
  out.min = -128;
  out.max = 127;
  int8_t y[2];
  MixArgs args;
  args.experts = experts;
  args.in_stride = 2;
  args.zero_points = zero_points;
  args.scales = scales;
  args.probs = probs;
  args.n = 2;
  args.width = 2;
  args.batch = 1;
  args.out = out;
  args.dst = y;
  args.out_stride = 2;
  k.mix(args);
  CHECK(static_cast<int>(y[0]) == 3);
  CHECK(static_cast<int>(y[1]) == 12);
  args.probs = nullptr;
  args.n = 1;
  k.mix(args);
  CHECK(static_cast<int>(y[0]) == 11);
  CHECK(static_cast<int>(y[1]) == 1);
}

TEST_CASE("task output row kernel writes sigmoid or identity at the task's stride") {
  const RowKernels& k = GenericRowKernels();
  const float logits[2] = {0.0f, -2.5f};
  float scores[4] = {-1, -1, -1, -1};
  k.task_output(logits, 1, 2, true, scores, 2);
  k.task_output(logits, 1, 2, false, scores + 1, 2);
  CHECK(scores[0] == 0.5f);
  CHECK(scores[1] == 0.0f);
  CHECK(scores[2] == Sigmoid(-2.5f));
  CHECK(scores[3] == -2.5f);
}

TEST_CASE("every ISA's task output row kernel is TaskScore item by item, at every batch size") {
  // Both ends of the sigmoid's clamp and past them, zeros of both signs, tiny and large
  // logits; batches of 1..19 cover full groups of a kernel's lanes and every partial one.
  std::vector<float> z = {0.0f, -0.0f, 80.0f, -80.0f, 80.5f, -80.5f, 1e30f, -1e30f, 1e-30f, -1e-30f};
  for (int i = -200; i <= 200; ++i) z.push_back(static_cast<float>(i) * 0.37f);
  const size_t stride = 3;  // logits `stride` floats apart, scores two apart
  int checked = 0;
  for (const char* isa : {"avx512vnni", "avx512vnni256", "avxvnni", "avx2", "i8mm", "neondot", "neon", "generic"}) {
    const GemmKernels* kernels = FindGemmKernels(isa);
    if (!kernels) continue;
    for (bool sigmoid : {true, false}) {
      for (size_t batch = 1; batch <= 19; ++batch) {
        for (size_t start = 0; start + batch <= z.size(); start += batch) {
          std::vector<float> logits(batch * stride, 7.0f), scores(batch * 2, -1.0f);
          for (size_t i = 0; i < batch; ++i) logits[i * stride] = z[start + i];
          kernels->rows->task_output(logits.data(), stride, batch, sigmoid, scores.data(), 2);
          for (size_t i = 0; i < batch; ++i) {
            const float want = rows::TaskScore(z[start + i], sigmoid);
            if (std::memcmp(&scores[i * 2], &want, sizeof(float)) != 0 || scores[i * 2 + 1] != -1.0f) {
              FAIL(std::string(isa) << ": logit " << z[start + i] << " (batch " << batch << ", item " << i
                                    << ") gives " << scores[i * 2] << ", expected " << want);
            }
          }
        }
      }
    }
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("quantize row kernel is QuantizeFeature element by element") {
  const RowKernels& k = GenericRowKernels();
  const float x[5] = {1.0f, kNaN, -kInf, 3.0f / 64, 100.0f};
  int8_t q[5];
  k.quantize(x, 5, 32.0f, -10, q);
  CHECK(std::vector<int>(q, q + 5) == std::vector<int>{22, -10, -128, -8, 127});
}

TEST_CASE("every ISA's quantize row kernel is QuantizeFeature element by element") {
  // Ties, values just off ties, the clamp bounds, NaN and infinities, at zero points whose
  // clamp range starts at 0 (-128, where the AVX-512 kernel lets vmaxps map NaN) and others.
  std::vector<float> x = {kNaN, -kNaN, kInf, -kInf, 0.0f, -0.0f, 1e30f, -1e30f};
  for (int i = -600; i <= 600; ++i) {
    x.push_back(static_cast<float>(i) * 0.5f / 32.0f);
    x.push_back(std::nextafter(static_cast<float>(i) * 0.5f / 32.0f, 1e9f));
  }
  int checked = 0;
  for (const char* isa : {"avx512vnni", "avx512vnni256", "avxvnni", "avx2", "i8mm", "neondot", "neon", "generic"}) {
    const GemmKernels* kernels = FindGemmKernels(isa);
    if (!kernels) continue;
    for (int32_t zp : {-128, -10, 0, 127}) {
      std::vector<int8_t> q(x.size());
      kernels->rows->quantize(x.data(), x.size(), 32.0f, zp, q.data());
      for (size_t i = 0; i < x.size(); ++i) {
        if (q[i] != QuantizeFeature(x[i], 32.0f, zp)) {
          FAIL(std::string(isa) << ": x=" << x[i] << " zp=" << zp << " gives " << int{q[i]} << ", expected "
                                << int{QuantizeFeature(x[i], 32.0f, zp)});
        }
      }
    }
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("every ISA's quantize16 row kernel is QuantizeFeature16 element by element") {
  // Ties, values just off ties, the int16 clamp bounds, NaN and infinities; lengths 0 to 40 so
  // that every vector width's tail (scalar or masked) is taken.
  std::vector<float> x = {kNaN, -kNaN, kInf, -kInf, 0.0f, -0.0f, 1e30f, -1e30f, 1023.99f, -1024.01f};
  for (int i = -70000; i <= 70000; i += 7) {
    x.push_back(static_cast<float>(i) * 0.5f / 32.0f);
    x.push_back(std::nextafter(static_cast<float>(i) * 0.5f / 32.0f, -1e9f));
  }
  CHECK(QuantizeFeature16(1.0f, 32.0f) == 32);
  CHECK(QuantizeFeature16(kNaN, 32.0f) == 0);
  CHECK(QuantizeFeature16(-kInf, 32.0f) == -32768);
  CHECK(QuantizeFeature16(3.0f / 64, 32.0f) == 2);  // 1.5 -> 2, half to even
  CHECK(QuantizeFeature16(5.0f / 64, 32.0f) == 2);  // 2.5 -> 2
  int checked = 0;
  for (const char* isa : {"avx512vnni", "avx512vnni256", "avxvnni", "avx2", "i8mm", "neondot", "neon", "generic"}) {
    const GemmKernels* kernels = FindGemmKernels(isa);
    if (!kernels) continue;
    for (size_t n : {x.size(), size_t{0}, size_t{1}, size_t{7}, size_t{15}, size_t{17}, size_t{40}}) {
      std::vector<int16_t> q(n + 1, 42);
      kernels->rows->quantize16(x.data(), n, 32.0f, q.data());
      CHECK_MESSAGE(q[n] == 42, isa << ": wrote past " << n);
      for (size_t i = 0; i < n; ++i) {
        if (q[i] != QuantizeFeature16(x[i], 32.0f)) {
          FAIL(std::string(isa) << ": x=" << x[i] << " gives " << q[i] << ", expected "
                                << QuantizeFeature16(x[i], 32.0f));
        }
      }
    }
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("every ISA's quantize_columns row kernel is rows::QuantizeColumns, column by column") {
  // A concat's parts: widths 1 to 37 (masked and scalar tails of every ISA), strided rows, a
  // scale and zero point per column (zero points at both ends of the range), values at ties,
  // just off them, at the clamp bounds, NaN and infinities.
  const std::vector<float> special = {kNaN, -kNaN, kInf, -kInf, 0.0f, -0.0f, 1e30f, -1e30f};
  int checked = 0;
  for (const char* isa : {"avx512vnni", "avx512vnni256", "avxvnni", "avx2", "i8mm", "neondot", "neon", "generic"}) {
    const GemmKernels* kernels = FindGemmKernels(isa);
    if (!kernels) continue;
    for (int32_t width = 1; width <= 37; ++width) {
      const size_t batch = 5, x_stride = static_cast<size_t>(width) + 3,
                   y_stride = static_cast<size_t>(width) + 7;
      std::vector<float> inv(static_cast<size_t>(width)), x(batch * x_stride);
      std::vector<int32_t> zp(static_cast<size_t>(width));
      for (int32_t c = 0; c < width; ++c) {
        inv[static_cast<size_t>(c)] = 4.0f + 3.5f * static_cast<float>(c % 7);
        zp[static_cast<size_t>(c)] = std::vector<int32_t>{-128, -10, 0, 127, 5}[static_cast<size_t>(c % 5)];
      }
      for (size_t k = 0; k < x.size(); ++k) {
        const float tie = (static_cast<float>(static_cast<int>(k * 37 % 601) - 300) * 0.5f) /
                          inv[(k % x_stride) % static_cast<size_t>(width)];
        x[k] = k % 11 == 0 ? special[k / 11 % special.size()] : k % 3 == 0 ? std::nextafter(tie, 1e9f) : tie;
      }
      std::vector<int8_t> got(batch * y_stride, 42), want(batch * y_stride, 42);
      kernels->rows->quantize_columns(x.data(), x_stride, batch, width, inv.data(), zp.data(), got.data(),
                                      y_stride);
      rows::QuantizeColumns(x.data(), x_stride, batch, width, inv.data(), zp.data(), want.data(), y_stride);
      if (got != want) FAIL(std::string(isa) << ": width " << width << " differs from rows::QuantizeColumns");
    }
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("every ISA's embedding row kernel is rows::Embedding") {
  // Tables of dims 1 to 37 (masked and scalar tails), 6 rows with their own scales and offsets
  // (row bytes padded to 4, then scale and offset); single ids, bags summed and averaged with a
  // padding id, empty bags, int32 and int64 ids, ids outside the table reading a default row.
  int checked = 0;
  for (const char* isa : {"avx512vnni", "avx512vnni256", "avxvnni", "avx2", "i8mm", "neondot", "neon", "generic"}) {
    const GemmKernels* kernels = FindGemmKernels(isa);
    if (!kernels) continue;
    for (int32_t dim = 1; dim <= 37; ++dim) {
      EmbeddingTable table;
      table.num_rows = 6;
      table.dim = dim;
      table.row_bytes = (static_cast<size_t>(dim) + 3) / 4 * 4 + 8;
      std::vector<uint8_t> bytes(table.num_rows * table.row_bytes + 3);  // rows at an odd address
      table.rows = bytes.data() + 3;
      std::vector<float> default_row(static_cast<size_t>(dim));
      for (size_t r = 0; r < table.num_rows; ++r) {
        uint8_t* row = bytes.data() + 3 + r * table.row_bytes;
        for (int32_t c = 0; c < dim; ++c)
          row[c] = static_cast<uint8_t>((r * 53 + static_cast<size_t>(c) * 29) % 256);
        const float scale = 0.0137f * static_cast<float>(r + 1),
                    offset = -1.3f + 0.41f * static_cast<float>(r);
        std::memcpy(row + table.row_bytes - 8, &scale, 4);
        std::memcpy(row + table.row_bytes - 4, &offset, 4);
      }
      for (int32_t c = 0; c < dim; ++c)
        default_row[static_cast<size_t>(c)] = 0.25f * static_cast<float>(c) - 3.1f;
      const std::vector<int64_t> ids64 = {2, 0, 5, 7, 2, 1, 1, -3, 4, 3, 5, 0};
      const std::vector<int32_t> ids32(ids64.begin(), ids64.end());
      const std::vector<int64_t> offsets = {0, 3, 3, 4, 9, 12};  // bags of 3, 0, 1, 5, 3 ids
      for (Pooling pooling : {Pooling::kNone, Pooling::kSum, Pooling::kMean}) {
        for (bool int64 : {true, false}) {
          EmbeddingLookup e;
          e.table = &table;
          e.pooling = pooling;
          e.has_padding_id = pooling != Pooling::kNone;
          e.padding_id = 1;
          e.default_row = default_row.data();
          const IdBatch ids{int64 ? static_cast<const void*>(ids64.data()) : ids32.data(), int64,
                            pooling == Pooling::kNone ? nullptr : offsets.data(), 0};
          const size_t batch = pooling == Pooling::kNone ? ids64.size() : offsets.size() - 1;
          const size_t stride = static_cast<size_t>(dim) + 5;
          std::vector<float> got(batch * stride, 7.0f), want(batch * stride, 7.0f);
          kernels->rows->embedding(e, ids, batch, got.data(), stride);
          rows::Embedding(e, ids, batch, want.data(), stride);
          if (std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) != 0)
            FAIL(std::string(isa) << ": dim " << dim << ", pooling " << static_cast<int>(pooling)
                                  << " differs from rows::Embedding");
        }
      }
    }
    ++checked;
  }
  CHECK(checked >= 1);
}

}  // namespace
}  // namespace mmoe
