// Ranking and calibration metrics for judging an int8 model against its float original.
#pragma once

#include <cstdint>
#include <vector>

namespace mmoe::converter {

// ROC AUC of `scores` for 0/1 `labels` (Mann-Whitney U with average ranks for ties);
// NaN when one class is absent.
double Auc(const std::vector<double>& scores, const std::vector<double>& labels);

// Mean binary cross-entropy, probabilities clipped to [1e-7, 1 - 1e-7] as frameworks do.
double LogLoss(const std::vector<double>& probs, const std::vector<double>& labels);

// Share of the n(n-1)/2 pairs (i, j) that `a` and `b` order oppositely (a_i < a_j and
// b_i > b_j, or the reverse); pairs tied in either list do not count as flipped. Exact, in
// O(n log n) by counting inversions with a merge sort.
double FlippedPairShare(const std::vector<double>& a, const std::vector<double>& b);

// Signal-to-quantization-noise ratio in dB: 10 log10(sum x^2 / sum (x - x_q)^2); +inf when
// the noise is zero.
double SqnrDb(double signal_energy, double noise_energy);

}  // namespace mmoe::converter
