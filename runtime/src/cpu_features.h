// What the CPU running this process can execute, read once (cpuid on x86; the kernel's
// hardware capabilities on ARM Linux/Android; sysctl on Apple).
#pragma once

namespace mmoe {

struct CpuFeatures {
  bool avx2 = false;
  bool avx512vnni = false;  // with AVX-512 F/BW/VL and the OS saving zmm state
  bool avxvnni = false;     // VEX-encoded VNNI on ymm
  bool neon = false;        // ARMv7 NEON, or AArch64 Advanced SIMD
  bool neon_dot = false;    // AArch64 SDOT/UDOT
  bool neon_i8mm = false;   // AArch64 SMMLA/UMMLA (Armv8.6 I8MM)
};

const CpuFeatures& GetCpuFeatures();

}  // namespace mmoe
