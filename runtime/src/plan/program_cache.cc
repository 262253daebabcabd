#include "plan/program_cache.h"

#include "model_data.h"

namespace mmoe {

ProgramCache::ProgramCache() = default;
ProgramCache::~ProgramCache() = default;

const Program& ProgramCache::Get(const ModelData& model, const PlanCaps& caps) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [c, program] : programs_) {
    if (c == caps) return *program;
  }
  auto program = std::make_unique<Program>();
  BuildProgram(model, caps, program.get());
  programs_.emplace_back(caps, std::move(program));
  return *programs_.back().second;
}

}  // namespace mmoe
