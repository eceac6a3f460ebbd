#include "rules/curves.h"

#include <algorithm>
#include <functional>

#include "core/error.h"

namespace strand::rules {
namespace {

// The curve's corner points (one per distinct score, highest first) from weighted counts:
// (false positive rate, true positive rate) and (recall, precision).
struct Points {
  std::vector<double> fpr, tpr, recall, precision;
};

Points corner_points(std::span<const int> y, std::span<const double> scores,
                     std::span<const int64_t> order, std::span<const double> w) {
  double pos = 0, neg = 0;
  for (size_t i = 0; i < y.size(); ++i) (y[i] ? pos : neg) += w.empty() ? 1.0 : w[i];
  Points p{{0}, {0}, {}, {}};
  double tp = 0, fp = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const int64_t i = order[k];
    const double wi = w.empty() ? 1.0 : w[i];
    (y[i] ? tp : fp) += wi;
    if (k + 1 < order.size() && scores[order[k + 1]] == scores[i]) continue;  // ties move together
    p.fpr.push_back(neg > 0 ? fp / neg : 0);
    p.tpr.push_back(pos > 0 ? tp / pos : 0);
    if (tp + fp > 0) {
      p.recall.push_back(pos > 0 ? tp / pos : 0);
      p.precision.push_back(tp / (tp + fp));
    }
  }
  return p;
}

// ROC: linear interpolation of TPR at each FPR (the highest TPR where the curve is vertical).
std::vector<double> roc_on_grid(const Points& p, const std::vector<double>& grid) {
  std::vector<double> out;
  out.reserve(grid.size());
  size_t j = 0;
  for (double x : grid) {
    while (j + 1 < p.fpr.size() && p.fpr[j + 1] <= x) ++j;
    if (j + 1 < p.fpr.size() && p.fpr[j] < x) {
      const double t = (x - p.fpr[j]) / (p.fpr[j + 1] - p.fpr[j]);
      out.push_back(p.tpr[j] + t * (p.tpr[j + 1] - p.tpr[j]));
    } else {
      out.push_back(p.tpr[j]);
    }
  }
  return out;
}

// PR: interpolated precision, the highest precision at any recall >= r.
std::vector<double> pr_on_grid(const Points& p, const std::vector<double>& grid) {
  std::vector<double> best(p.recall.size());
  double m = 0;
  for (size_t k = p.recall.size(); k-- > 0;) best[k] = m = std::max(m, p.precision[k]);
  std::vector<double> out;
  out.reserve(grid.size());
  size_t j = 0;
  for (double r : grid) {
    while (j < p.recall.size() && p.recall[j] < r - 1e-12) ++j;
    out.push_back(j < best.size() ? best[j] : 0.0);
  }
  return out;
}

using GridFn = std::function<std::vector<double>(const Points&, const std::vector<double>&)>;

Curve curve(std::span<const int> y, std::span<const double> scores, const BootstrapOptions& options,
            int grid_points, const GridFn& on_grid, bool roc) {
  STRAND_CHECK(y.size() == scores.size(), "{} labels but {} scores", y.size(), scores.size());
  STRAND_CHECK(grid_points >= 2, "a curve needs at least 2 grid points, got {}", grid_points);
  int64_t pos = 0;
  for (int v : y) pos += v != 0;
  const int64_t neg = static_cast<int64_t>(y.size()) - pos;
  STRAND_CHECK(pos > 0 && neg > 0,
               "a {} curve needs positives and negatives; the task has {} and {}",
               roc ? "ROC" : "precision-recall", pos, neg);
  Curve c;
  for (int i = 0; i < grid_points; ++i) c.x.push_back(static_cast<double>(i) / (grid_points - 1));
  const auto order = order_by_score_descending(scores);
  c.y = on_grid(corner_points(y, scores, order, {}), c.x);
  c.prevalence = static_cast<double>(pos) / static_cast<double>(y.size());
  c.area =
      (roc ? roc_auc_sorted(y, scores, order, {}) : average_precision_sorted(y, scores, order, {}))
          .value;
  if (options.replicates <= 0) return c;
  // One vector per grid point of the replicates' values, then a percentile interval each.
  std::vector<std::vector<double>> at(c.x.size());
  for (int r = 0; r < options.replicates; ++r) {
    const auto counts = bootstrap_counts(static_cast<int64_t>(y.size()), options.seed, r);
    const auto v = on_grid(corner_points(y, scores, order, counts), c.x);
    for (size_t g = 0; g < v.size(); ++g) at[g].push_back(v[g]);
  }
  for (auto& values : at) {
    const Interval iv = percentile_interval(std::move(values), options.level);
    c.lo.push_back(iv.lo);
    c.hi.push_back(iv.hi);
  }
  return c;
}

}  // namespace

Curve roc_curve(std::span<const int> y, std::span<const double> scores,
                const BootstrapOptions& options, int grid_points) {
  return curve(y, scores, options, grid_points, roc_on_grid, true);
}

Curve precision_recall_curve(std::span<const int> y, std::span<const double> scores,
                             const BootstrapOptions& options, int grid_points) {
  return curve(y, scores, options, grid_points, pr_on_grid, false);
}

}  // namespace strand::rules
