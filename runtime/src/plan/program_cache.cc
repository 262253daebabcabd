#include "model_data.h"
#include "plan/program.h"

namespace mmoe {

ModelData::ModelData() = default;
ModelData::~ModelData() = default;

const Program& ModelData::GetProgram(WeightLayout layout) const {
  const int i = static_cast<int>(layout);
  std::call_once(program_once_[i], [&] {
    programs_[i] = std::make_unique<Program>();
    BuildProgram(*this, layout, programs_[i].get());
  });
  return *programs_[i];
}

}  // namespace mmoe
