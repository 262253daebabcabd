#include "mmoe/converter/weight_rounding.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mmoe::converter {
namespace {

// Damping added to the diagonal, as a fraction of its mean (GPTQ's 1 %): keeps the inverse
// well conditioned when inputs are (nearly) collinear; retried ten times larger on failure.
constexpr double kDamping = 0.01;

// In-place lower Cholesky factor of the n x n symmetric matrix a (row-major; the upper
// triangle is left as it was). False when a is not positive definite.
bool Cholesky(std::vector<double>& a, int n) {
  for (int j = 0; j < n; ++j) {
    double d = a[static_cast<size_t>(j) * n + j];
    for (int k = 0; k < j; ++k) d -= a[static_cast<size_t>(j) * n + k] * a[static_cast<size_t>(j) * n + k];
    if (!(d > 0.0) || !std::isfinite(d)) return false;
    const double l = std::sqrt(d);
    a[static_cast<size_t>(j) * n + j] = l;
    for (int i = j + 1; i < n; ++i) {
      double s = a[static_cast<size_t>(i) * n + j];
      for (int k = 0; k < j; ++k) s -= a[static_cast<size_t>(i) * n + k] * a[static_cast<size_t>(j) * n + k];
      a[static_cast<size_t>(i) * n + j] = s / l;
    }
  }
  return true;
}

// The upper factor U of H^-1 = U^T U (GPTQ's "Hinv"), from H (n x n, damped, permuted):
// row k of U holds how column k's rounding error is spread over the columns after it.
bool InverseFactor(std::vector<double> h, int n, std::vector<double>* u) {
  if (!Cholesky(h, n)) return false;
  // L^-1 (lower), column by column by forward substitution.
  std::vector<double> linv(static_cast<size_t>(n) * n, 0.0);
  for (int c = 0; c < n; ++c) {
    for (int i = c; i < n; ++i) {
      double s = i == c ? 1.0 : 0.0;
      for (int k = c; k < i; ++k)
        s -= h[static_cast<size_t>(i) * n + k] * linv[static_cast<size_t>(k) * n + c];
      linv[static_cast<size_t>(i) * n + c] = s / h[static_cast<size_t>(i) * n + i];
    }
  }
  // H^-1 = L^-T L^-1, then its lower Cholesky factor, whose transpose is U.
  std::vector<double> hinv(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j <= i; ++j) {
      double s = 0.0;
      for (int k = i; k < n; ++k)
        s += linv[static_cast<size_t>(k) * n + i] * linv[static_cast<size_t>(k) * n + j];
      hinv[static_cast<size_t>(i) * n + j] = s;
    }
  }
  if (!Cholesky(hinv, n)) return false;
  u->assign(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) (*u)[static_cast<size_t>(j) * n + i] = hinv[static_cast<size_t>(i) * n + j];
  return true;
}

int8_t RoundToLevel(double v) { return static_cast<int8_t>(std::clamp(std::nearbyint(v), -127.0, 127.0)); }

}  // namespace

RoundedWeights RoundWeights(const std::vector<float>& w, int out, int in,
                            const std::vector<double>& second_moments) {
  RoundedWeights r;
  r.q.resize(static_cast<size_t>(out) * in);
  r.scale.resize(static_cast<size_t>(out));
  for (int c = 0; c < out; ++c) {
    float absmax = 0.0f;
    for (int k = 0; k < in; ++k) absmax = std::max(absmax, std::fabs(w[static_cast<size_t>(c) * in + k]));
    // Symmetric per output channel; an all-zero row keeps a harmless unit scale.
    r.scale[static_cast<size_t>(c)] = absmax > 0.0f ? static_cast<float>(absmax / 127.0) : 1.0f;
  }
  const auto nearest = [&] {
    for (int c = 0; c < out; ++c)
      for (int k = 0; k < in; ++k)
        r.q[static_cast<size_t>(c) * in + k] = RoundToLevel(
            static_cast<double>(w[static_cast<size_t>(c) * in + k]) / r.scale[static_cast<size_t>(c)]);
    return r;
  };
  if (second_moments.size() != static_cast<size_t>(in) * in || in > kMaxErrorFeedbackWidth) return nearest();

  // Columns in decreasing order of E[x_k^2] (GPTQ's "act order"), ties by index; an input that
  // is always 0 gets a unit diagonal (its weights never matter, they round to nearest).
  std::vector<double> diag(static_cast<size_t>(in));
  double mean_diag = 0.0;
  for (int k = 0; k < in; ++k) {
    diag[static_cast<size_t>(k)] = second_moments[static_cast<size_t>(k) * in + k];
    if (!std::isfinite(diag[static_cast<size_t>(k)])) return nearest();
    mean_diag += diag[static_cast<size_t>(k)];
  }
  mean_diag /= in;
  if (!(mean_diag > 0.0)) return nearest();
  std::vector<int> order(static_cast<size_t>(in));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return diag[a] > diag[b]; });

  std::vector<double> u;
  bool factored = false;
  for (double damping = kDamping; damping <= 1.0 && !factored; damping *= 10.0) {
    std::vector<double> h(static_cast<size_t>(in) * in);
    for (int i = 0; i < in; ++i) {
      for (int j = 0; j < in; ++j)
        h[static_cast<size_t>(i) * in + j] = second_moments[static_cast<size_t>(order[i]) * in + order[j]];
      double& d = h[static_cast<size_t>(i) * in + i];
      if (d == 0.0) d = mean_diag;
      d += damping * mean_diag;
    }
    factored = InverseFactor(std::move(h), in, &u);
  }
  if (!factored) return nearest();

  std::vector<double> row(static_cast<size_t>(in));
  for (int c = 0; c < out; ++c) {
    const double s = r.scale[static_cast<size_t>(c)];
    for (int i = 0; i < in; ++i) row[static_cast<size_t>(i)] = w[static_cast<size_t>(c) * in + order[i]];
    for (int i = 0; i < in; ++i) {
      const int8_t q = RoundToLevel(row[static_cast<size_t>(i)] / s);
      r.q[static_cast<size_t>(c) * in + order[i]] = q;
      const double err = (row[static_cast<size_t>(i)] - q * s) / u[static_cast<size_t>(i) * in + i];
      for (int j = i + 1; j < in; ++j)
        row[static_cast<size_t>(j)] -= err * u[static_cast<size_t>(i) * in + j];
    }
  }
  return r;
}

double OutputError(const std::vector<float>& w, const RoundedWeights& r, int out, int in,
                   const std::vector<double>& second_moments) {
  double total = 0.0;
  std::vector<double> e(static_cast<size_t>(in));
  for (int c = 0; c < out; ++c) {
    for (int k = 0; k < in; ++k)
      e[static_cast<size_t>(k)] = static_cast<double>(r.q[static_cast<size_t>(c) * in + k]) * r.scale[c] -
                                  w[static_cast<size_t>(c) * in + k];
    for (int i = 0; i < in; ++i)
      for (int j = 0; j < in; ++j)
        total += e[static_cast<size_t>(i)] * second_moments[static_cast<size_t>(i) * in + j] *
                 e[static_cast<size_t>(j)];
  }
  return total;
}

}  // namespace mmoe::converter
