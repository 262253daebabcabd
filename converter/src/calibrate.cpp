#include "mmoe/converter/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "mmoe/converter/float_model.h"

namespace mmoe::converter {
namespace {
// A tensor that is (almost) always zero still needs a usable positive scale.
constexpr float kMinScale = 1e-7f;
// Clipping points the MSE search tries per end of the range, and its rounds of coordinate
// descent (lo given hi, then hi given lo).
constexpr int kMseCandidates = 256;
constexpr int kMseRounds = 2;

double BinLow(const Range& r, size_t bins, size_t i) {
  return r.lo + (static_cast<double>(r.hi) - r.lo) * static_cast<double>(i) / static_cast<double>(bins);
}

// The q-quantile (0 <= q <= 1) of the values, the exact zeros a point mass at 0: the outer edge
// of the bin it falls in (the upper edge for an upper quantile, `upper`, else the lower one).
// Rounding outwards clips nothing inside a bin (an eighth of an int8 step), so values that sit
// on a few points, like 0/1 features, keep their exact range.
double Quantile(const Range& r, const std::vector<int64_t>& bins, int64_t zeros, double q, bool upper) {
  int64_t total = zeros;
  for (int64_t n : bins) total += n;
  const double target = q * static_cast<double>(total);
  double below = 0.0;
  bool zeros_placed = zeros == 0;
  for (size_t i = 0; i < bins.size(); ++i) {
    const double lo = BinLow(r, bins.size(), i), hi = BinLow(r, bins.size(), i + 1);
    if (!zeros_placed && hi > 0.0) {
      // The zeros come before the positive values (and after the negative part of this bin,
      // which is ignored: the bin's mass is spread over it).
      if (below + static_cast<double>(zeros) >= target) return 0.0;
      below += static_cast<double>(zeros);
      zeros_placed = true;
    }
    const double n = static_cast<double>(bins[i]);
    if (n > 0 && below + n >= target) return upper ? hi : lo;
    below += n;
  }
  return zeros_placed ? r.hi : 0.0;  // unplaced zeros lie above every (negative) bin
}

// Expected squared quantization error of the histogram's values under [lo, hi]: the rounding
// error of a uniform value inside the representable range (scale^2 / 12), the distance to the
// nearest end outside it (measured from the bin's centre).
double QuantError(const Range& r, const std::vector<int64_t>& bins, float lo, float hi, bool int16) {
  Range c;
  c.lo = lo;
  c.hi = hi;
  c.seen = true;
  const QuantParams q = int16 ? Int16FromRange(c) : Int8FromRange(c);
  const double qmin = int16 ? -32767.0 : -128.0, qmax = int16 ? 32767.0 : 127.0;
  const double rlo = q.scale * (qmin - q.zero_point), rhi = q.scale * (qmax - q.zero_point);
  const double rounding = static_cast<double>(q.scale) * q.scale / 12.0;
  double err = 0.0;
  for (size_t i = 0; i < bins.size(); ++i) {
    if (bins[i] == 0) continue;
    const double x = (BinLow(r, bins.size(), i) + BinLow(r, bins.size(), i + 1)) / 2.0;
    const double e = x < rlo ? (x - rlo) * (x - rlo) : x > rhi ? (x - rhi) * (x - rhi) : rounding;
    err += static_cast<double>(bins[i]) * e;
  }
  return err;
}

// The best of kMseCandidates evenly spaced clipping points in (0, end] for one end of the
// range, the other end fixed.
float BestEnd(const Range& r, const std::vector<int64_t>& bins, float end, float other, bool is_hi,
              bool int16) {
  float best = end;
  double best_err = -1.0;
  for (int k = kMseCandidates; k >= 1; --k) {
    const float v = static_cast<float>(static_cast<double>(end) * k / kMseCandidates);
    const double err = is_hi ? QuantError(r, bins, other, v, int16) : QuantError(r, bins, v, other, int16);
    if (best_err < 0.0 || err < best_err) best = v, best_err = err;
  }
  return best;
}

}  // namespace

std::string CalibrationMethod::Name() const {
  switch (kind) {
    case kPercentile: {
      char buf[48];
      std::snprintf(buf, sizeof(buf), "percentile:%g", percentile);
      return buf;
    }
    case kMse:
      return "mse";
    default:
      return "minmax";
  }
}

CalibrationMethod ParseCalibrationMethod(const std::string& text) {
  CalibrationMethod m;
  if (text == "minmax") return m;
  if (text == "mse") {
    m.kind = CalibrationMethod::kMse;
    return m;
  }
  const std::string prefix = "percentile";
  if (text.compare(0, prefix.size(), prefix) == 0) {
    m.kind = CalibrationMethod::kPercentile;
    if (text.size() == prefix.size()) return m;
    if (text[prefix.size()] == ':') {
      const std::string number = text.substr(prefix.size() + 1);
      char* end = nullptr;
      const double p = std::strtod(number.c_str(), &end);
      if (!number.empty() && end && *end == '\0' && p > 50.0 && p <= 100.0) {
        m.percentile = p;
        return m;
      }
      throw ConvertError("calibration method '" + text + "': the percentile must be a number in (50, 100]");
    }
  }
  throw ConvertError("unknown calibration method '" + text + "' (available: minmax, percentile[:P], mse)");
}

Range ChooseRange(const CalibrationMethod& method, const Range& range, const std::vector<int64_t>& bins,
                  int64_t zeros, bool int16) {
  if (method.kind == CalibrationMethod::kMinMax || !range.seen || bins.empty()) return range;
  Range out = range;
  if (method.kind == CalibrationMethod::kPercentile) {
    // An int16 tensor's step is 256 times finer: clipping its rare values (the input's largest
    // features, a few rows' large expert outputs) costs those rows far more than the rounding
    // it saves everyone (docs/quality.md).
    if (int16) return range;
    const double q = method.percentile / 100.0;
    out.lo = static_cast<float>(std::max<double>(range.lo, Quantile(range, bins, zeros, 1.0 - q, false)));
    out.hi = static_cast<float>(std::min<double>(range.hi, Quantile(range, bins, zeros, q, true)));
    return out;
  }
  // MSE: coordinate descent over each end's clipping point. Ends on the far side of 0 stay
  // (the range always contains 0).
  for (int round = 0; round < kMseRounds; ++round) {
    if (range.hi > 0.0f) out.hi = BestEnd(range, bins, range.hi, out.lo, true, int16);
    if (range.lo < 0.0f) out.lo = BestEnd(range, bins, range.lo, out.hi, false, int16);
  }
  return out;
}

void ActivationStats::BeginHistograms() {
  histograms_ = true;
  for (auto& entry : stats_) {
    entry.second.bins.assign(kBins, 0);
    entry.second.zeros = 0;
  }
}

void ActivationStats::ChooseRanges(const CalibrationMethod& method,
                                   const std::function<bool(int32_t)>& is_int16) {
  for (auto& [tensor, s] : stats_) s.range = ChooseRange(method, s.range, s.bins, s.zeros, is_int16(tensor));
}

void ActivationStats::Observe(int32_t tensor, const float* values, size_t count) {
  Stats& s = stats_[tensor];
  if (histograms_) {
    // The same rows as the first pass, so every value lies within the range.
    const double lo = s.range.lo, width = static_cast<double>(s.range.hi) - lo;
    const double per_bin = width > 0.0 ? kBins / width : 0.0;
    for (size_t i = 0; i < count; ++i) {
      if (values[i] == 0.0f) {
        ++s.zeros;
        continue;
      }
      const double b = (values[i] - lo) * per_bin;
      ++s.bins[static_cast<size_t>(std::clamp(b, 0.0, static_cast<double>(kBins - 1)))];
    }
    return;
  }
  if (s.sum.size() < count) s.sum.resize(count, 0.0);
  if (s.columns.size() < count) s.columns.resize(count);
  for (size_t i = 0; i < count; ++i) {
    s.range.Add(values[i]);
    s.columns[i].Add(values[i]);
    s.sum[i] += values[i];
  }
  ++s.count;
  if (s.track_moments && s.moment_rows < kSecondMomentRows) {
    // Lower triangle over the nonzero elements only: ReLU outputs are mostly zeros.
    if (s.moments.empty()) s.moments.assign(count * count, 0.0);
    s.nonzero.clear();
    for (size_t i = 0; i < count; ++i)
      if (values[i] != 0.0f) s.nonzero.push_back(i);
    for (size_t a = 0; a < s.nonzero.size(); ++a) {
      const size_t i = s.nonzero[a];
      const double xi = values[i];
      double* row = s.moments.data() + i * count;
      for (size_t b = 0; b <= a; ++b) row[s.nonzero[b]] += xi * values[s.nonzero[b]];
    }
    ++s.moment_rows;
  }
}

std::vector<double> ActivationStats::GetSecondMoments(int32_t tensor) const {
  auto it = stats_.find(tensor);
  if (it == stats_.end() || it->second.moment_rows == 0) return {};
  const Stats& s = it->second;
  const size_t n = s.sum.size();
  std::vector<double> m(n * n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j <= i; ++j) {
      m[i * n + j] = m[j * n + i] = s.moments[i * n + j] / static_cast<double>(s.moment_rows);
    }
  }
  return m;
}

std::vector<Range> ActivationStats::GetColumnRanges(int32_t tensor) const {
  auto it = stats_.find(tensor);
  return it == stats_.end() ? std::vector<Range>() : it->second.columns;
}

Range ActivationStats::GetRange(int32_t tensor) const {
  auto it = stats_.find(tensor);
  return it == stats_.end() ? Range() : it->second.range;
}

std::vector<double> ActivationStats::GetMean(int32_t tensor) const {
  auto it = stats_.find(tensor);
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
