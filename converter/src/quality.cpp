#include "mmoe/converter/quality.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace mmoe::converter {
namespace {

// Inversions (i < j with v[i] > v[j], strictly) of v[lo, hi), sorting that range; `tmp` is
// scratch of v's size.
int64_t CountInversions(std::vector<double>& v, std::vector<double>& tmp, size_t lo, size_t hi) {
  if (hi - lo < 2) return 0;
  const size_t mid = lo + (hi - lo) / 2;
  int64_t count = CountInversions(v, tmp, lo, mid) + CountInversions(v, tmp, mid, hi);
  size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    // Equal values are taken from the left first: a tie is not an inversion.
    if (v[i] <= v[j]) {
      tmp[k++] = v[i++];
    } else {
      count += static_cast<int64_t>(mid - i);
      tmp[k++] = v[j++];
    }
  }
  while (i < mid) tmp[k++] = v[i++];
  while (j < hi) tmp[k++] = v[j++];
  std::copy(tmp.begin() + static_cast<std::ptrdiff_t>(lo), tmp.begin() + static_cast<std::ptrdiff_t>(hi),
            v.begin() + static_cast<std::ptrdiff_t>(lo));
  return count;
}

}  // namespace

double Auc(const std::vector<double>& scores, const std::vector<double>& labels) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0.0, positives = 0.0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) {
      if (labels[order[k]] > 0.5) positive_rank_sum += rank, positives += 1.0;
    }
    i = j + 1;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0.0 || negatives == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return (positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives);
}

double LogLoss(const std::vector<double>& probs, const std::vector<double>& labels) {
  if (probs.empty()) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const double p = std::clamp(probs[i], 1e-7, 1.0 - 1e-7);
    sum -= labels[i] > 0.5 ? std::log(p) : std::log(1.0 - p);
  }
  return sum / static_cast<double>(probs.size());
}

double FlippedPairShare(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  if (n < 2) return 0.0;
  // Order by a, ties by b ascending, so that pairs tied in a never count as inversions of b.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t i, size_t j) { return a[i] != a[j] ? a[i] < a[j] : b[i] < b[j]; });
  std::vector<double> v(n), tmp(n);
  for (size_t i = 0; i < n; ++i) v[i] = b[order[i]];
  const double pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
  return static_cast<double>(CountInversions(v, tmp, 0, n)) / pairs;
}

double SqnrDb(double signal_energy, double noise_energy) {
  if (noise_energy <= 0.0) return std::numeric_limits<double>::infinity();
  if (signal_energy <= 0.0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal_energy / noise_energy);
}

}  // namespace mmoe::converter
