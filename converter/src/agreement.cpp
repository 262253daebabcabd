#include <algorithm>
#include <cmath>
#include <numeric>

#include "mmoe/converter/convert.h"

namespace mmoe::converter {
namespace {

std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = avg;
    i = j + 1;
  }
  return rank;
}

}  // namespace

double Spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) return 0.0;
  const std::vector<double> ra = Ranks(a), rb = Ranks(b);
  const double n = static_cast<double>(a.size());
  const double mean = (n + 1.0) / 2.0;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (saa == 0 || sbb == 0) return saa == sbb ? 1.0 : 0.0;
  return sab / std::sqrt(saa * sbb);
}

std::vector<TaskAgreement> CompareScores(const Matrix& reference, const Matrix& test,
                                         const std::vector<std::string>& task_names) {
  if (reference.rows != test.rows || reference.cols != test.cols) {
    throw ConvertError("compare: score matrices differ in shape");
  }
  std::vector<TaskAgreement> out;
  for (int64_t t = 0; t < reference.cols; ++t) {
    TaskAgreement a;
    a.task = t < static_cast<int64_t>(task_names.size()) ? task_names[t] : "task" + std::to_string(t + 1);
    std::vector<double> ref(reference.rows), got(reference.rows), diff(reference.rows);
    double sum = 0;
    for (int64_t i = 0; i < reference.rows; ++i) {
      ref[i] = reference.row(i)[t];
      got[i] = test.row(i)[t];
      diff[i] = std::fabs(ref[i] - got[i]);
      sum += diff[i];
      a.max_abs = std::max(a.max_abs, diff[i]);
    }
    a.mean_abs = reference.rows ? sum / static_cast<double>(reference.rows) : 0.0;
    if (!diff.empty()) {
      // Nearest-rank 99th percentile.
      std::vector<double> sorted = diff;
      const size_t k = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(sorted.size()))) - 1;
      std::nth_element(sorted.begin(), sorted.begin() + k, sorted.end());
      a.p99_abs = sorted[k];
    }
    a.spearman = Spearman(ref, got);
    out.push_back(a);
  }
  return out;
}

}  // namespace mmoe::converter
