// Rounding a dense layer's float weights to int8, one symmetric scale per output channel.
#pragma once

#include <cstdint>
#include <vector>

namespace mmoe::converter {

struct RoundedWeights {
  std::vector<int8_t> q;     // [out][in], in [-127, 127]
  std::vector<float> scale;  // [out]: max |w[c][.]| / 127 of the float row (1 for a zero row)
};

// Layers at most this wide have their rounding chosen against their inputs' second moments
// (an in x in matrix of doubles: 8 MB at this width); wider ones round to nearest.
constexpr int kMaxErrorFeedbackWidth = 1024;

// Rounds w ([out][in], row-major, in the units the accumulator counts) to int8.
//
// With `second_moments` (E[x x^T] of the layer's input over the calibration rows, [in][in]),
// each row is rounded by error feedback (GPTQ, Frantar et al. 2023, the OBQ update of Frantar
// and Alistarh 2022): columns are rounded one at a time in decreasing order of E[x_k^2], and
// each rounding error is spread over the columns not yet rounded so that the expected squared
// output error E[((w - w_q) . x)^2] stays least. When the inputs are uncorrelated this is
// rounding to nearest; trained hidden layers' inputs are not. Double precision, a fixed order
// and no threads: the same weights give the same bytes on every machine. Without second
// moments (empty), or when they are not usable, rounds to nearest.
RoundedWeights RoundWeights(const std::vector<float>& w, int out, int in,
                            const std::vector<double>& second_moments);

// E[((w - w_q) . x)^2] summed over the rows: the objective above, for tests and reports.
double OutputError(const std::vector<float>& w, const RoundedWeights& r, int out, int in,
                   const std::vector<double>& second_moments);

}  // namespace mmoe::converter
