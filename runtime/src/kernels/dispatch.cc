// Chooses GEMM kernels from the CPU's features, once; the best first.
#include <cstring>

#include "cpu_features.h"
#include "kernels/gemm.h"

namespace mmoe {

namespace {

struct Entry {
  const char* name;
  bool supported;  // by this CPU
  const GemmKernels* (*table)();
};

// The first of this build's kernel sets (best first) that this CPU runs and `visit` accepts.
template <typename Visit>
const GemmKernels* FirstWhere(const Visit& visit) {
  const CpuFeatures& cpu = GetCpuFeatures();
  const Entry entries[] = {
#if defined(MMOE_ARCH_X86_64)
    {"avx512vnni", cpu.avx512vnni, [] { return &Avx512VnniGemmKernels(); }},
    {"avx512vnni256", cpu.avx512vnni, [] { return &Avx512Vnni256GemmKernels(); }},
    {"avxvnni", cpu.avxvnni, [] { return &AvxVnniGemmKernels(); }},
    {"avx2", cpu.avx2, [] { return &Avx2GemmKernels(); }},
#endif
#if defined(MMOE_ARCH_ARM)
#if defined(__aarch64__)
    {"i8mm", cpu.neon_i8mm && cpu.neon_dot, [] { return &NeonI8mmGemmKernels(); }},
    {"neondot", cpu.neon_dot, [] { return &NeonDotGemmKernels(); }},
#endif
    {"neon", cpu.neon, [] { return &NeonGemmKernels(); }},
#endif
#if MMOE_PORTABLE_GEMM
    {"generic", true, [] { return &GenericGemmKernels(); }},
#endif
  };
  for (const Entry& e : entries) {
    if (e.supported && visit(e)) return e.table();
  }
  return nullptr;
}

}  // namespace

const GemmKernels* FindGemmKernels(const char* isa) {
  return FirstWhere([isa](const Entry& e) { return !isa || !*isa || std::strcmp(isa, e.name) == 0; });
}

}  // namespace mmoe
