// DeLong's paired AUROC test via midranks (Sun & Xu 2014): three sorts instead of an m x n sweep.
#include "rules/delong.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace strand::rules {
namespace {

// Midranks (1-based, ties share the mean rank) of values.
std::vector<double> midranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    while (j < order.size() && values[order[j]] == values[order[i]]) ++j;
    const double r = 0.5 * (i + 1 + j);  // mean of ranks i+1 .. j
    for (size_t k = i; k < j; ++k) ranks[order[k]] = r;
    i = j;
  }
  return ranks;
}

double covariance(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += (a[i] - ma) * (b[i] - mb);
  return s / (n - 1);
}

}  // namespace

Placements delong_placements(std::span<const int> y, std::span<const double> scores) {
  STRAND_CHECK(y.size() == scores.size(), "delong: {} labels but {} scores", y.size(),
               scores.size());
  std::vector<double> pos, neg;
  for (size_t i = 0; i < y.size(); ++i) {
    STRAND_CHECK(y[i] == 0 || y[i] == 1, "delong: label {} at row {} is not 0 or 1", y[i], i);
    STRAND_CHECK(!std::isnan(scores[i]), "delong: score at row {} is NaN", i);
    (y[i] ? pos : neg).push_back(scores[i]);
  }
  Placements p;
  const size_t m = pos.size(), n = neg.size();
  if (m == 0 || n == 0) return p;
  std::vector<double> all(pos);
  all.insert(all.end(), neg.begin(), neg.end());
  const auto r_all = midranks(all), r_pos = midranks(pos), r_neg = midranks(neg);
  p.positives.resize(m);
  p.negatives.resize(n);
  // Rank among all minus rank among positives = negatives below (ties one half).
  for (size_t i = 0; i < m; ++i) p.positives[i] = (r_all[i] - r_pos[i]) / n;
  for (size_t j = 0; j < n; ++j) p.negatives[j] = 1.0 - (r_all[m + j] - r_neg[j]) / m;
  p.auc = std::accumulate(p.positives.begin(), p.positives.end(), 0.0) / m;
  return p;
}

DelongResult delong_from_placements(const Placements& a, const Placements& b) {
  DelongResult r;
  const size_t m = a.positives.size(), n = a.negatives.size();
  STRAND_CHECK(b.positives.size() == m && b.negatives.size() == n,
               "delong: classifiers were scored on different samples ({}+{} vs {}+{})", m, n,
               b.positives.size(), b.negatives.size());
  if (m < 2 || n < 2) {
    r.reason = "needs at least two positives and two negatives";
    return r;
  }
  r.auc_a = a.auc;
  r.auc_b = b.auc;
  r.difference = a.auc - b.auc;
  const double s10 = covariance(a.positives, a.positives) + covariance(b.positives, b.positives) -
                     2 * covariance(a.positives, b.positives);
  const double s01 = covariance(a.negatives, a.negatives) + covariance(b.negatives, b.negatives) -
                     2 * covariance(a.negatives, b.negatives);
  r.variance = s10 / m + s01 / n;
  if (!(r.variance > 1e-300)) {
    // Identical rankings: the difference is exactly zero with no variance; the test is moot.
    if (r.difference == 0) {
      r.defined = true;
      r.z = 0;
      r.p_value = 1;
      r.ci_lo = r.ci_hi = 0;
    } else {
      r.reason = "zero variance of the AUROC difference";
    }
    return r;
  }
  const double se = std::sqrt(r.variance);
  r.defined = true;
  r.z = r.difference / se;
  r.p_value = std::erfc(std::abs(r.z) / std::sqrt(2.0));
  const double q = 1.959963984540054;  // standard normal 97.5% quantile
  r.ci_lo = r.difference - q * se;
  r.ci_hi = r.difference + q * se;
  return r;
}

DelongResult delong_test(std::span<const int> y, std::span<const double> scores_a,
                         std::span<const double> scores_b) {
  STRAND_CHECK(scores_a.size() == scores_b.size(), "delong: {} scores vs {} scores",
               scores_a.size(), scores_b.size());
  const auto a = delong_placements(y, scores_a);
  const auto b = delong_placements(y, scores_b);
  if (a.positives.empty() || a.negatives.empty()) {
    DelongResult r;
    r.reason = "only one class in the labels";
    return r;
  }
  return delong_from_placements(a, b);
}

}  // namespace strand::rules
