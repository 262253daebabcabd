#include "cpu_features.h"

#if defined(__aarch64__) || defined(__arm__)
#if defined(__linux__) || defined(__ANDROID__)
#include <sys/auxv.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#endif

namespace mmoe {
namespace {

CpuFeatures Detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // libgcc / compiler-rt also check that the OS saves the ymm/zmm state (XGETBV).
  f.avx2 = __builtin_cpu_supports("avx2");
  f.avx512vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
  f.avxvnni = f.avx2 && __builtin_cpu_supports("avxvnni");
#endif
#elif defined(__aarch64__)
  f.neon = true;  // Advanced SIMD is mandatory on AArch64
#if defined(__linux__) || defined(__ANDROID__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  f.neon_dot = (hwcap & (1UL << 20)) != 0;                  // HWCAP_ASIMDDP
  f.neon_i8mm = (getauxval(AT_HWCAP2) & (1UL << 13)) != 0;  // HWCAP2_I8MM
#elif defined(__APPLE__)
  int value = 0;
  size_t size = sizeof(value);
  f.neon_dot = sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, nullptr, 0) == 0 && value != 0;
  value = 0;
  size = sizeof(value);
  f.neon_i8mm = sysctlbyname("hw.optional.arm.FEAT_I8MM", &value, &size, nullptr, 0) == 0 && value != 0;
#endif
#elif defined(__arm__)
#if defined(__linux__) || defined(__ANDROID__)
  f.neon = (getauxval(AT_HWCAP) & (1UL << 12)) != 0;  // HWCAP_NEON
#elif defined(__ARM_NEON)
  f.neon = true;
#endif
#endif
  return f;
}

}  // namespace

const CpuFeatures& GetCpuFeatures() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace mmoe
