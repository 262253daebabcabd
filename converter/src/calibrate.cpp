#include "mmoe/converter/calibrate.h"

#include <algorithm>
#include <cmath>

namespace mmoe::converter {
namespace {
// A tensor that is (almost) always zero still needs a usable positive scale.
constexpr float kMinScale = 1e-7f;
}  // namespace

void ActivationStats::Observe(const TensorId& id, const float* values, size_t count) {
  Stats& s = stats_[{id.part, id.index, id.layer}];
  if (s.sum.size() < count) s.sum.resize(count, 0.0);
  for (size_t i = 0; i < count; ++i) {
    s.range.Add(values[i]);
    s.sum[i] += values[i];
  }
  ++s.count;
}

Range ActivationStats::GetRange(TensorId::Part part, int index, int layer) const {
  auto it = stats_.find({part, index, layer});
  return it == stats_.end() ? Range() : it->second.range;
}

std::vector<double> ActivationStats::GetMean(TensorId::Part part, int index, int layer) const {
  auto it = stats_.find({part, index, layer});
  if (it == stats_.end() || it->second.count == 0) return {};
  std::vector<double> mean = it->second.sum;
  for (double& v : mean) v /= static_cast<double>(it->second.count);
  return mean;
}

QuantParams Int8FromRange(const Range& range) {
  const double lo = std::min(0.0, static_cast<double>(range.lo));
  const double hi = std::max(0.0, static_cast<double>(range.hi));
  QuantParams q;
  q.scale = std::max(kMinScale, static_cast<float>((hi - lo) / 255.0));
  const double zp = std::nearbyint(-128.0 - lo / q.scale);
  q.zero_point = static_cast<int32_t>(std::clamp(zp, -128.0, 127.0));
  return q;
}

QuantParams Int16FromRange(const Range& range) {
  const double m =
      std::max(std::fabs(static_cast<double>(range.lo)), std::fabs(static_cast<double>(range.hi)));
  QuantParams q;
  q.int16 = true;
  q.scale = std::max(kMinScale, static_cast<float>(m / 32767.0));
  q.zero_point = 0;
  return q;
}

}  // namespace mmoe::converter
