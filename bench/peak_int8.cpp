// mmoe_peak_int8 [--trial-ms MS] [--trials N] [--macs MACS_PER_ITEM]
//
// This core's int8 multiply-accumulate peak: loops of independent int8 dot-product
// instructions with nothing else in flight (no loads, no stores), the ceiling any int8 kernel
// on this machine works under. One JSON line per instruction sequence:
//   avx512vnni  vpdpbusd zmm                      64 MACs per instruction
//   avxvnni     vpdpbusd ymm (VEX)                32 MACs per instruction
//   avx512bw    vpmaddubsw + vpmaddwd + vpaddd zmm  64 MACs per three instructions
//   avx2        vpmaddubsw + vpmaddwd + vpaddd ymm  32 MACs per three instructions (saturates)
//   avx2_madd   vpmaddwd + vpaddd ymm                16 MACs per two instructions (exact)
//   avx2_sign   vpsignb + vpmaddubsw + vpmaddwd + vpaddd ymm  32 MACs per four (exact)
// Sequences the CPU lacks (__builtin_cpu_supports) are reported with "supported": false.
// Also prints the seed-model items/s the peak implies (peak / MACs per item), and the
// core's clock estimated from a chain of dependent adds, to give MACs per cycle.
//
// A last line measures the other cost every int8 layer pays per output: requantization, the
// AVX-512 kernels' epilogue (int32 -> float, times the column's multiplier, clamp, round,
// add the zero point, narrow to int8, store) on 16 independent blocks of 16 outputs. With
// the outputs per item (--outputs: 16-lane blocks the seed model's plan requantizes per
// item, quantized inputs and mixtures included) it gives the items/s a core could reach if
// requantization did not overlap the multiply-accumulates. And one line measures how fast a
// core reads data that is in its L2 but not its L1 (a 256 KiB buffer), which is where a
// batch-1 call's weights come from when they exceed the L1 (the seed model's do).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// The seed model's multiply-accumulates per item (mmoe inspect prints it).
constexpr double kSeedMacsPerItem = 41568;
// Lanes of the 16-wide blocks the seed model's plan requantizes per item: 624 GEMM output
// columns (mmoe_bench_plan's n_pad), 112 quantized inputs (100 padded to 7 blocks) and 2
// mixtures of 16.
constexpr double kSeedOutputsPerItem = 768;

struct Options {
  int trial_ms = 200;
  int trials = 7;
  double macs_per_item = kSeedMacsPerItem;
  double outputs_per_item = kSeedOutputsPerItem;
};

// Keeps the compiler from treating vector `v` as a known constant or hoisting work on it out
// of a loop; emits no instruction. "+v" allows all 32 EVEX registers, "+x" the 16 of AVX2.
#define MMOE_OPAQUE512(v) asm volatile("" : "+v"(v))
#define MMOE_OPAQUE256(v) asm volatile("" : "+x"(v))

int32_t g_sink;  // results go here so that the loops are not dead code

// Each kernel runs `iters` iterations and returns the multiply-accumulates done.
using Kernel = uint64_t (*)(uint64_t iters);

// Adds the lanes of acc[0..n) to g_sink, so that the loops computing them are not dead code.
__attribute__((target("avx512f"), always_inline)) inline void SinkLanes(const __m512i* acc, int n) {
  __m512i sum = acc[0];
  for (int k = 1; k < n; ++k) sum = _mm512_add_epi32(sum, acc[k]);
  alignas(64) int32_t lanes[16];  // not _mm512_reduce_add_epi32: GCC 12 warns inside it
  _mm512_store_si512(lanes, sum);
  for (int32_t v : lanes) g_sink += v;
}

// The same for ymm accumulators.
__attribute__((target("avx2"), always_inline)) inline void SinkLanes256(const __m256i* acc, int n) {
  __m256i sum = acc[0];
  for (int k = 1; k < n; ++k) sum = _mm256_add_epi32(sum, acc[k]);
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  for (int32_t v : lanes) g_sink += v;
}

// 16 independent accumulators: vpdpbusd's latency (4-5 cycles) times its throughput (up to
// 2 per cycle) needs at least 10 in flight.
__attribute__((target("avx512f,avx512vnni"), noinline)) uint64_t Avx512Vnni(uint64_t iters) {
  constexpr int kAcc = 16;
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
  MMOE_OPAQUE512(a);
  MMOE_OPAQUE512(b);
  __m512i acc[kAcc];
  for (int k = 0; k < kAcc; ++k) acc[k] = _mm512_set1_epi32(k);
  for (uint64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kAcc; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
  }
  SinkLanes(acc, kAcc);
  return iters * kAcc * 64;
}

__attribute__((target("avx2,avxvnni"), noinline)) uint64_t AvxVnni(uint64_t iters) {
  constexpr int kAcc = 12;
  __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-5);
  MMOE_OPAQUE256(a);
  MMOE_OPAQUE256(b);
  __m256i acc[kAcc];
  for (int k = 0; k < kAcc; ++k) acc[k] = _mm256_set1_epi32(k);
  for (uint64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < kAcc; ++k) acc[k] = _mm256_dpbusd_avx_epi32(acc[k], a, b);
  }
  SinkLanes256(acc, kAcc);
  return iters * kAcc * 32;
}

// Without VNNI an int8 dot product takes three instructions: u8 x s8 pairs to int16
// (vpmaddubsw), int16 pairs to int32 (vpmaddwd by ones), accumulate (vpaddd). `a` is made
// opaque every iteration, or the compiler would hoist the two multiplies out of the loop.
__attribute__((target("avx512f,avx512bw"), noinline)) uint64_t Avx512Bw(uint64_t iters) {
  constexpr int kAcc = 8;
  __m512i a = _mm512_set1_epi8(3);
  const __m512i ones = _mm512_set1_epi16(1);
  __m512i b[kAcc], acc[kAcc];
  for (int k = 0; k < kAcc; ++k) {
    b[k] = _mm512_set1_epi8(static_cast<char>(-1 - k));
    acc[k] = _mm512_setzero_si512();
  }
  for (uint64_t i = 0; i < iters; ++i) {
    MMOE_OPAQUE512(a);
#pragma GCC unroll 8
    for (int k = 0; k < kAcc; ++k) {
      acc[k] = _mm512_add_epi32(acc[k], _mm512_madd_epi16(_mm512_maddubs_epi16(a, b[k]), ones));
    }
  }
  SinkLanes(acc, kAcc);
  return iters * kAcc * 64;
}

__attribute__((target("avx2"), noinline)) uint64_t Avx2(uint64_t iters) {
  constexpr int kAcc = 4;  // 16 ymm registers: 4 accumulators, 4 weights, a, ones, temporaries
  __m256i a = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i b[kAcc], acc[kAcc];
  for (int k = 0; k < kAcc; ++k) {
    b[k] = _mm256_set1_epi8(static_cast<char>(-1 - k));
    acc[k] = _mm256_setzero_si256();
  }
  for (uint64_t i = 0; i < iters; ++i) {
    MMOE_OPAQUE256(a);
#pragma GCC unroll 4
    for (int k = 0; k < kAcc; ++k) {
      acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b[k]), ones));
    }
  }
  SinkLanes256(acc, kAcc);
  return iters * kAcc * 32;
}

// The AVX-512 GEMM epilogue (kernels/x86/gemm_avx512vnni.cc, StoreBlock, int8 output) of one
// block of 16 accumulators, with a ReLU layer's constants.
__attribute__((target("avx512f,avx512bw"), always_inline)) inline void RequantizeBlock(__m512i acc,
                                                                                       int8_t* out) {
  const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(0.01f));
  const __m512i q = _mm512_add_epi32(
      _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(255.0f))),
      _mm512_set1_epi32(-128));
  _mm_store_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtepi32_epi8(q));
}

// RequantizeBlock on 16 independent blocks; returns the outputs written.
__attribute__((target("avx512f,avx512bw"), noinline)) uint64_t RequantizeAvx512(uint64_t iters) {
  constexpr int kBlocks = 16;
  alignas(64) static int8_t out[kBlocks * 16];
  __m512i acc[kBlocks];
  for (int k = 0; k < kBlocks; ++k) acc[k] = _mm512_set1_epi32(1000 * k - 7000);
  for (uint64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kBlocks; ++k) {
      MMOE_OPAQUE512(acc[k]);  // a fresh accumulator each time, as after a tile's loop
      RequantizeBlock(acc[k], out + 16 * k);
    }
  }
  for (int8_t v : out) g_sink += v;
  return iters * kBlocks * 16;
}

// 16 vpdpbusd (as Avx512Vnni) plus the epilogue of one independent block per iteration, about
// the ratio of a 4x4 tile of the seed's first layer (25 k-steps x 16 vpdpbusd per 16 blocks).
// Cycles per iteration against the 16 of vpdpbusd alone say how much of the requantization the
// core hides under the multiply-accumulates (Zen 4: only vmulps shares their pipes).
__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) uint64_t VnniWithRequantize(uint64_t iters) {
  constexpr int kAcc = 16;
  alignas(64) static int8_t out[16];
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5), block = _mm512_set1_epi32(-7000);
  MMOE_OPAQUE512(a);
  MMOE_OPAQUE512(b);
  __m512i acc[kAcc];
  for (int k = 0; k < kAcc; ++k) acc[k] = _mm512_set1_epi32(k);
  for (uint64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kAcc; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
    MMOE_OPAQUE512(block);
    RequantizeBlock(block, out);
  }
  SinkLanes(acc, kAcc);
  for (int8_t v : out) g_sink += v;
  return iters;
}

// Sums a 256 KiB buffer (L2-resident on current x86 cores, 4-8 times their L1d) with 64-byte
// loads into 4 independent accumulators; returns the bytes read.
__attribute__((target("avx512f"), noinline)) uint64_t L2Stream(uint64_t iters) {
  constexpr size_t kBytes = 256 * 1024;
  static int32_t* buffer = [] {
    void* p = nullptr;
    if (posix_memalign(&p, 64, kBytes) != 0) std::abort();
    std::memset(p, 1, kBytes);
    return static_cast<int32_t*>(p);
  }();
  __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                    _mm512_setzero_si512()};
  for (uint64_t i = 0; i < iters; ++i) {
    for (size_t at = 0; at < kBytes / 4; at += 64) {
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) acc[k] = _mm512_add_epi32(acc[k], _mm512_load_si512(buffer + at + 16 * k));
    }
  }
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes,
                     _mm512_add_epi32(_mm512_add_epi32(acc[0], acc[1]), _mm512_add_epi32(acc[2], acc[3])));
  for (int32_t v : lanes) g_sink += v;
  return iters * kBytes;
}

// A chain of dependent 64-bit adds retires one per cycle on every x86 core of the last two
// decades, so adds per second is the clock the core ran at (turbo included).
__attribute__((noinline)) uint64_t AddChain(uint64_t iters) {
  uint64_t x = 0;
  for (uint64_t i = 0; i < iters; ++i) {
    asm volatile(
        ".rept 100\n\t"
        "addq $1, %0\n\t"
        ".endr"
        : "+r"(x));
  }
  g_sink += static_cast<int32_t>(x);
  return iters * 100;
}

// The exact AVX2 sequences, which a saturating vpmaddubsw on uint8 inputs (the avx2 line; 2 *
// 255 * 127 > 32767) cannot replace where every weight may be +-127:
//   avx2_madd  int16 pairs (inputs widened from int8) times int16 weight pairs (vpmaddwd),
//              accumulated (vpaddd): 16 MACs per two instructions (the AVX2 tile kernels).
//   avx2_sign  |x| times the weights with x's signs (vpsignb, vpmaddubsw: pairs at most 2 *
//              128 * 127 = 32512), pairs added by vpmaddwd by ones, accumulated: 32 MACs per
//              four instructions (the AVX2 one-row kernels, on int8 weights).
__attribute__((target("avx2"), noinline)) uint64_t Avx2Madd(uint64_t iters) {
  constexpr int kAcc = 6;  // 6 accumulators, 6 weights, the input and a product: 14 registers
  __m256i a = _mm256_set1_epi16(3);
  __m256i b[kAcc], acc[kAcc];
  for (int k = 0; k < kAcc; ++k) {
    b[k] = _mm256_set1_epi16(static_cast<int16_t>(-1 - k));
    acc[k] = _mm256_setzero_si256();
  }
  for (uint64_t i = 0; i < iters; ++i) {
    MMOE_OPAQUE256(a);
#pragma GCC unroll 6
    for (int k = 0; k < kAcc; ++k) acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(a, b[k]));
  }
  SinkLanes256(acc, kAcc);
  return iters * kAcc * 16;
}

__attribute__((target("avx2"), noinline)) uint64_t Avx2Sign(uint64_t iters) {
  constexpr int kAcc = 5;  // 5 accumulators, 5 weights, x, |x|, ones and temporaries
  __m256i x = _mm256_set1_epi8(-3);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i w[kAcc], acc[kAcc];
  for (int k = 0; k < kAcc; ++k) {
    w[k] = _mm256_set1_epi8(static_cast<char>(-1 - k));
    acc[k] = _mm256_setzero_si256();
  }
  for (uint64_t i = 0; i < iters; ++i) {
    MMOE_OPAQUE256(x);
    const __m256i xabs = _mm256_abs_epi8(x);
#pragma GCC unroll 5
    for (int k = 0; k < kAcc; ++k) {
      const __m256i pairs = _mm256_maddubs_epi16(xabs, _mm256_sign_epi8(w[k], x));
      acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(pairs, ones));
    }
  }
  SinkLanes256(acc, kAcc);
  return iters * kAcc * 32;
}

struct KernelInfo {
  const char* name;
  const char* instructions;
  bool supported;
  Kernel run;
};

std::vector<KernelInfo> Kernels() {
  __builtin_cpu_init();
  const bool avx512f = __builtin_cpu_supports("avx512f");
  return {
      {"avx512vnni", "vpdpbusd zmm", avx512f && __builtin_cpu_supports("avx512vnni"), Avx512Vnni},
      {"avxvnni", "vpdpbusd ymm (VEX)", __builtin_cpu_supports("avxvnni") != 0, AvxVnni},
      {"avx512bw", "vpmaddubsw+vpmaddwd+vpaddd zmm", avx512f && __builtin_cpu_supports("avx512bw"), Avx512Bw},
      {"avx2", "vpmaddubsw+vpmaddwd+vpaddd ymm", __builtin_cpu_supports("avx2") != 0, Avx2},
      {"avx2_madd", "vpmaddwd+vpaddd ymm (exact)", __builtin_cpu_supports("avx2") != 0, Avx2Madd},
      {"avx2_sign", "vpsignb+vpmaddubsw+vpmaddwd+vpaddd ymm (exact)", __builtin_cpu_supports("avx2") != 0,
       Avx2Sign},
  };
}

double Seconds(Kernel run, uint64_t iters, uint64_t* ops) {
  const Clock::time_point t0 = Clock::now();
  *ops = run(iters);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Operations per second in each of `trials` trials of about trial_ms, sorted ascending.
std::vector<double> Measure(Kernel run, const Options& o) {
  uint64_t ops = 0;
  uint64_t iters = 1000;
  // Grow the trial until it is long enough to time, then size it to trial_ms.
  double s = Seconds(run, iters, &ops);
  while (s < 0.01) {
    iters *= 4;
    s = Seconds(run, iters, &ops);
  }
  iters = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(iters) * o.trial_ms / 1000.0 / s));
  std::vector<double> rates;
  for (int t = 0; t < o.trials; ++t) {
    s = Seconds(run, iters, &ops);
    rates.push_back(static_cast<double>(ops) / s);
  }
  std::sort(rates.begin(), rates.end());
  return rates;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 < argc && a == "--trial-ms") {
      o.trial_ms = std::max(1, std::atoi(argv[++i]));
    } else if (i + 1 < argc && a == "--trials") {
      o.trials = std::max(1, std::atoi(argv[++i]));
    } else if (i + 1 < argc && a == "--macs") {
      o.macs_per_item = std::max(1.0, std::atof(argv[++i]));
    } else if (i + 1 < argc && a == "--outputs") {
      o.outputs_per_item = std::max(1.0, std::atof(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: mmoe_peak_int8 [--trial-ms MS (200)] [--trials N (7)] [--macs MACS (%.0f)]\n"
                   "                      [--outputs OUTPUTS (%.0f)]\n",
                   kSeedMacsPerItem, kSeedOutputsPerItem);
      std::exit(a == "-h" || a == "--help" ? 0 : 2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  std::vector<double> hz = Measure(AddChain, o);
  const double ghz = hz.back() / 1e9;
  double vnni_peak = 0.0;  // MACs/s
  for (const KernelInfo& k : Kernels()) {
    if (!k.supported) {
      std::printf("{\"kernel\":\"%s\",\"instructions\":\"%s\",\"supported\":false}\n", k.name,
                  k.instructions);
      continue;
    }
    // Best and median trial: the peak is the best the core sustained; the median shows
    // how much of it a shared machine gives on a typical trial.
    const std::vector<double> rates = Measure(k.run, o);
    const double peak = rates.back() / 1e9, median = rates[rates.size() / 2] / 1e9;
    if (std::strcmp(k.name, "avx512vnni") == 0) vnni_peak = rates.back();
    std::printf(
        "{\"kernel\":\"%s\",\"instructions\":\"%s\",\"supported\":true,\"threads\":1,"
        "\"gmacs_per_core\":%.2f,\"gmacs_median\":%.2f,\"core_ghz\":%.3f,\"macs_per_cycle\":%.1f,"
        "\"macs_per_item\":%.0f,\"items_per_s_limit\":%.0f}\n",
        k.name, k.instructions, peak, median, ghz, peak / ghz, o.macs_per_item, peak * 1e9 / o.macs_per_item);
    std::fflush(stdout);
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
    const std::vector<double> rates = Measure(RequantizeAvx512, o);
    const double rate = rates.back();  // outputs per second
    // Seconds per item = MACs at the VNNI peak + outputs at this rate, one after the other.
    const double combined =
        vnni_peak > 0 ? 1.0 / (o.macs_per_item / vnni_peak + o.outputs_per_item / rate) : 0.0;
    std::printf(
        "{\"kernel\":\"requantize_avx512\",\"instructions\":\"vcvtdq2ps+vmulps+vmaxps+vminps+vcvtps2dq+"
        "vpaddd+"
        "vpmovdb zmm, 16-byte store\",\"supported\":true,\"threads\":1,\"outputs_per_s\":%.0f,"
        "\"cycles_per_16_outputs\":%.2f,\"outputs_per_item\":%.0f,\"items_per_s_limit\":%.0f,"
        "\"with_vnni_peak_items_per_s_limit\":%.0f}\n",
        rate, 16.0 * ghz * 1e9 / rate, o.outputs_per_item, rate / o.outputs_per_item, combined);
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vnni")) {
    const double cycles = ghz * 1e9 / Measure(VnniWithRequantize, o).back();  // per iteration
    // The 16 vpdpbusd alone at the peak measured above: 16 cycles on a core that retires one
    // per cycle (Zen 4), about 9 on one that retires two (Zen 5).
    const double alone = vnni_peak > 0 ? 16.0 * 64.0 * ghz * 1e9 / vnni_peak : 16.0;
    std::printf(
        "{\"kernel\":\"vnni_with_requantize\",\"instructions\":\"16 vpdpbusd zmm + the epilogue of 1 "
        "independent block\",\"supported\":true,\"threads\":1,\"cycles_per_iteration\":%.2f,"
        "\"vpdpbusd_alone_cycles\":%.2f,\"epilogue_cycles_not_hidden\":%.2f}\n",
        cycles, alone, cycles - alone);
  }
  if (__builtin_cpu_supports("avx512f")) {
    const std::vector<double> rates = Measure(L2Stream, o);
    std::printf(
        "{\"kernel\":\"l2_stream\",\"instructions\":\"vmovdqa64 zmm loads + vpaddd of a 256 KiB buffer\","
        "\"supported\":true,\"threads\":1,\"bytes_per_s\":%.0f,\"bytes_per_cycle\":%.1f}\n",
        rates.back(), rates.back() / (ghz * 1e9));
  }
  return g_sink == 0x7fffffff ? 1 : 0;  // reads the sink; never true in practice
}
