// Introspection of the xnnpack backend's executors (built with MMOE_WITH_XNNPACK only), for
// tests: the backend falls back to the project's kernels silently, layer by layer, so a test
// needs a way to see that XNNPACK really runs the layers it should.
#pragma once

#include "plan/executor.h"

namespace mmoe {

struct XnnpackExecutorStats {
  int xnnpack_layers = 0;   // GEMM segments run by an XNNPACK operator
  int fallback_layers = 0;  // int8 -> int8 segments XNNPACK refused
};

// Stats of an executor made by CreateXnnpackExecutor; false for any other executor.
bool GetXnnpackExecutorStats(const Executor& executor, XnnpackExecutorStats* stats);

}  // namespace mmoe
