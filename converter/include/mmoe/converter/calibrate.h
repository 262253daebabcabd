// Calibration: activation ranges from the float reference, and the int8/int16
// quantization parameters chosen from them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mmoe/converter/float_reference.h"

namespace mmoe::converter {

struct Range {
  float lo = 0.0f;
  float hi = 0.0f;
  bool seen = false;
  void Add(float v) {
    if (!seen) lo = hi = v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    seen = true;
  }
};

// How each activation tensor's range is chosen from its calibrated values (all elements of
// the tensor over all calibration rows together).
struct CalibrationMethod {
  enum Kind {
    kMinMax,      // the observed minimum and maximum
    kPercentile,  // lo, hi = the (100 - p)th and p-th percentiles: rare outliers are clipped
    kMse,         // the range whose quantization (rounding + clipping) error is least
  } kind = kMinMax;
  double percentile = 99.99;  // kPercentile only, in (50, 100]
  // "minmax", "percentile:99.99", "mse": what the model file records.
  std::string Name() const;
};

// Parses "minmax", "percentile" (99.99), "percentile:P" with 50 < P <= 100, or "mse";
// ConvertError naming the text otherwise.
CalibrationMethod ParseCalibrationMethod(const std::string& text);

// Collects, for every activation tensor over the calibration rows, its range (all elements
// together: activations are quantized per tensor) and its per-element mean (for bias
// correction of the next layer).
//
// Methods other than minmax need the distribution of the values: after a first pass over the
// rows, BeginHistograms() fixes each tensor's bins over its observed range and a second pass
// over the same rows fills them (memory per tensor is the bin count, whatever the row count);
// ChooseRanges() then replaces each tensor's range with the method's.
class ActivationStats : public ActivationObserver {
 public:
  static constexpr int kBins = 2048;

  void Observe(int32_t tensor, const float* values, size_t count) override;
  // A tensor never observed yields an empty Range and an empty mean.
  Range GetRange(int32_t tensor) const;
  std::vector<double> GetMean(int32_t tensor) const;
  // Each element's own minimum and maximum (a concat quantizes its columns one by one).
  std::vector<Range> GetColumnRanges(int32_t tensor) const;

  // Also collect E[x x^T] of `tensor` (width at most kMaxErrorFeedbackWidth) in the first pass,
  // over its first kSecondMomentRows rows: the weight rounding of the layers reading it
  // (weight_rounding.h) minimises the output error these moments predict.
  static constexpr int64_t kSecondMomentRows = 100000;
  void TrackSecondMoments(int32_t tensor) { stats_[tensor].track_moments = true; }
  // [width][width], row-major; empty when not tracked or never observed.
  std::vector<double> GetSecondMoments(int32_t tensor) const;

  // Switches Observe() from collecting ranges and means to filling histograms.
  void BeginHistograms();
  // Picks every tensor's range with `method` from its histogram; `is_int16(tensor)` says whether
  // the model file stores the tensor as int16 (symmetric), which the MSE search must know.
  // minmax leaves the ranges unchanged.
  void ChooseRanges(const CalibrationMethod& method, const std::function<bool(int32_t)>& is_int16);

 private:
  struct Stats {
    Range range;
    std::vector<Range> columns;  // per element
    std::vector<double> sum;
    int64_t count = 0;
    bool track_moments = false;
    std::vector<double> moments;  // lower triangle sums of x x^T, [width][width]
    int64_t moment_rows = 0;
    std::vector<size_t> nonzero;  // scratch
    // Second pass: counts over kBins equal bins of `range`; exact zeros apart (0.0 is always
    // representable, so they never add quantization error).
    std::vector<int64_t> bins;
    int64_t zeros = 0;
  };
  std::map<int32_t, Stats> stats_;  // per graph tensor
  bool histograms_ = false;
};

// The calibrated range of a tensor's values under `method`, from its histogram `bins` over
// [range.lo, range.hi] plus `zeros` exact zeros. Exposed for tests.
Range ChooseRange(const CalibrationMethod& method, const Range& range, const std::vector<int64_t>& bins,
                  int64_t zeros, bool int16);

struct QuantParams {
  bool int16 = false;
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// Asymmetric int8 (TensorFlow Lite's scheme): the range widened to contain 0, scale =
// (hi - lo) / 255, zero point rounded so that 0.0 is exactly representable.
QuantParams Int8FromRange(const Range& range);
// Symmetric int16, zero point 0: scale = max(|lo|, |hi|) / 32767.
QuantParams Int16FromRange(const Range& range);

}  // namespace mmoe::converter
