// The programs of one model, built on first use for each set of kernel capabilities and shared
// by every session on the model. Held by the Model beside its verified data, which stays
// immutable.
#pragma once

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "plan/program.h"

namespace mmoe {

class ProgramCache {
 public:
  ProgramCache();
  ~ProgramCache();
  // The program of `model` for kernels with `caps`; thread-safe. Throws std::bad_alloc.
  const Program& Get(const ModelData& model, const PlanCaps& caps) const;

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::pair<PlanCaps, std::unique_ptr<Program>>> programs_;
};

}  // namespace mmoe
