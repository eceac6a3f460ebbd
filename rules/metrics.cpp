// Evaluation metrics matching scikit-learn; see metrics.h for the definitions and edge cases.
#include "rules/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace strand::rules {
namespace {

double weight_of(std::span<const double> w, size_t i) { return w.empty() ? 1.0 : w[i]; }

void check_sizes(size_t a, size_t b, std::span<const double> w, const char* what) {
  STRAND_CHECK(a == b, "{}: {} labels but {} scores", what, a, b);
  STRAND_CHECK(w.empty() || w.size() == a, "{}: {} weights for {} samples", what, w.size(), a);
}

void check_binary(std::span<const int> y, std::span<const double> s, std::span<const double> w,
                  const char* what) {
  check_sizes(y.size(), s.size(), w, what);
  for (size_t i = 0; i < y.size(); ++i) {
    STRAND_CHECK(y[i] == 0 || y[i] == 1, "{}: label {} at row {} is not 0 or 1", what, y[i], i);
    STRAND_CHECK(!std::isnan(s[i]), "{}: score at row {} is NaN", what, i);
  }
}

// Weighted mean of (a_i - b_i)^2, shared by the Brier score and the MSE.
template <typename A>
MetricValue weighted_mean_squared(std::span<const A> a, std::span<const double> b,
                                  std::span<const double> w) {
  double sum = 0, total = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double wi = weight_of(w, i), d = b[i] - a[i];
    sum += wi * d * d;
    total += wi;
  }
  if (total <= 0) return MetricValue::undefined("no samples");
  return MetricValue::of(sum / total);
}

bool in_unit_interval(std::span<const double> s) {
  return std::all_of(s.begin(), s.end(), [](double v) { return v >= 0.0 && v <= 1.0; });
}

}  // namespace

std::vector<int64_t> order_by_score_descending(std::span<const double> scores) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  return order;
}

MetricValue roc_auc_sorted(std::span<const int> y, std::span<const double> s,
                           std::span<const int64_t> order, std::span<const double> w) {
  // Walk the thresholds from the highest score down; a tie group adds a trapezoid, i.e. its
  // negatives are credited with the positives above them plus half of the tied positives.
  double pos = 0, neg = 0, area = 0;
  size_t i = 0;
  while (i < order.size()) {
    double gp = 0, gn = 0;
    const double t = s[order[i]];
    for (; i < order.size() && s[order[i]] == t; ++i) {
      const double wi = weight_of(w, order[i]);
      (y[order[i]] ? gp : gn) += wi;
    }
    area += gn * (pos + 0.5 * gp);
    pos += gp;
    neg += gn;
  }
  if (pos <= 0 || neg <= 0)
    return MetricValue::undefined(pos <= 0 ? "no positive samples" : "no negative samples");
  return MetricValue::of(area / (pos * neg));
}

MetricValue roc_auc(std::span<const int> y, std::span<const double> s, std::span<const double> w) {
  check_binary(y, s, w, "roc_auc");
  const auto order = order_by_score_descending(s);
  return roc_auc_sorted(y, s, order, w);
}

MetricValue average_precision_sorted(std::span<const int> y, std::span<const double> s,
                                     std::span<const int64_t> order, std::span<const double> w) {
  double total_pos = 0;
  for (size_t i = 0; i < y.size(); ++i) total_pos += y[i] ? weight_of(w, i) : 0.0;
  if (total_pos <= 0) return MetricValue::undefined("no positive samples");
  double tp = 0, fp = 0, ap = 0;
  size_t i = 0;
  while (i < order.size()) {
    double gp = 0, gn = 0;
    const double t = s[order[i]];
    for (; i < order.size() && s[order[i]] == t; ++i)
      (y[order[i]] ? gp : gn) += weight_of(w, order[i]);
    tp += gp;
    fp += gn;
    // sklearn drops zero-weight samples; such a group adds no recall, hence nothing here.
    if (gp > 0) ap += (gp / total_pos) * (tp / (tp + fp));
  }
  return MetricValue::of(ap);
}

MetricValue average_precision(std::span<const int> y, std::span<const double> s,
                              std::span<const double> w) {
  check_binary(y, s, w, "average_precision");
  const auto order = order_by_score_descending(s);
  return average_precision_sorted(y, s, order, w);
}

Confusion confusion_at(std::span<const int> y, std::span<const double> s, double threshold,
                       std::span<const double> w) {
  check_binary(y, s, w, "confusion_at");
  Confusion c;
  for (size_t i = 0; i < y.size(); ++i) {
    const double wi = weight_of(w, i);
    const bool predicted = s[i] >= threshold;
    if (y[i])
      (predicted ? c.tp : c.fn) += wi;
    else
      (predicted ? c.fp : c.tn) += wi;
  }
  return c;
}

MetricValue precision(const Confusion& c) {
  if (c.tp + c.fp <= 0) return MetricValue::undefined("no predicted positives");
  return MetricValue::of(c.tp / (c.tp + c.fp));
}

MetricValue recall(const Confusion& c) {
  if (c.tp + c.fn <= 0) return MetricValue::undefined("no positive samples");
  return MetricValue::of(c.tp / (c.tp + c.fn));
}

MetricValue f1(const Confusion& c) {
  // sklearn computes F1 as 2tp / (2tp + fp + fn); it is undefined only when all three are zero.
  const double denom = 2 * c.tp + c.fp + c.fn;
  if (denom <= 0) return MetricValue::undefined("no positive samples and no predicted positives");
  return MetricValue::of(2 * c.tp / denom);
}

MetricValue balanced_accuracy(const Confusion& c) {
  const double p = c.tp + c.fn, n = c.tn + c.fp;
  if (p <= 0 || n <= 0) return MetricValue::undefined("only one class in the labels");
  return MetricValue::of(0.5 * (c.tp / p + c.tn / n));
}

MetricValue matthews(const Confusion& c) {
  const double p = c.tp + c.fn, n = c.tn + c.fp;
  if (p <= 0 || n <= 0) return MetricValue::undefined("only one class in the labels");
  const double pp = c.tp + c.fp, pn = c.tn + c.fn, total = p + n;
  // sklearn's multi-class form with C = 2, so both paths give bit-identical values.
  const double cov_ytyp = (c.tp + c.tn) * total - (p * pp + n * pn);
  const double cov_ypyp = total * total - (pp * pp + pn * pn);
  const double cov_ytyt = total * total - (p * p + n * n);
  if (cov_ypyp * cov_ytyt == 0) return MetricValue::of(0.0);
  return MetricValue::of(cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp));
}

F1Optimum f1_optimal(std::span<const int> y, std::span<const double> s,
                     std::span<const int64_t> order, std::span<const double> w) {
  double total_pos = 0;
  for (size_t i = 0; i < y.size(); ++i) total_pos += y[i] ? weight_of(w, i) : 0.0;
  if (total_pos <= 0) {
    auto u = MetricValue::undefined("no positive samples");
    return {u, u, u, u};
  }
  double tp = 0, fp = 0, best = -1, best_t = 0, best_p = 0, best_r = 0;
  size_t i = 0;
  while (i < order.size()) {
    const double t = s[order[i]];
    double gw = 0;
    for (; i < order.size() && s[order[i]] == t; ++i) {
      const double wi = weight_of(w, order[i]);
      (y[order[i]] ? tp : fp) += wi;
      gw += wi;
    }
    if (gw <= 0) continue;  // a threshold made only of dropped samples is not a real one
    const double f = 2 * tp / (tp + fp + total_pos);
    if (f > best) {
      best = f;
      best_t = t;
      best_p = tp / (tp + fp);
      best_r = tp / total_pos;
    }
  }
  return {MetricValue::of(best_t), MetricValue::of(best), MetricValue::of(best_p),
          MetricValue::of(best_r)};
}

MetricValue brier(std::span<const int> y, std::span<const double> s, std::span<const double> w) {
  check_binary(y, s, w, "brier");
  if (!in_unit_interval(s)) return MetricValue::undefined("scores are not probabilities in [0, 1]");
  return weighted_mean_squared(y, s, w);
}

MetricValue expected_calibration_error(std::span<const int> y, std::span<const double> s, int bins,
                                       std::span<const double> w,
                                       std::vector<ReliabilityBin>* curve) {
  check_binary(y, s, w, "expected_calibration_error");
  STRAND_CHECK(bins >= 1, "expected_calibration_error: bins must be >= 1, got {}", bins);
  if (curve) curve->clear();
  if (!in_unit_interval(s)) return MetricValue::undefined("scores are not probabilities in [0, 1]");
  // Edges as numpy.linspace(0, 1, B + 1) computes them (step * i), so a score on an edge lands in
  // the same bin as in scikit-learn.
  const double step = 1.0 / bins;
  std::vector<double> inner(bins - 1);
  for (int b = 1; b < bins; ++b) inner[b - 1] = b * step;
  std::vector<double> count(bins, 0), sum_s(bins, 0), sum_y(bins, 0);
  double total = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double wi = weight_of(w, i);
    // searchsorted(inner, s, side="left"): the first edge >= s.
    const int b =
        static_cast<int>(std::lower_bound(inner.begin(), inner.end(), s[i]) - inner.begin());
    count[b] += wi;
    sum_s[b] += wi * s[i];
    sum_y[b] += wi * y[i];
    total += wi;
  }
  if (total <= 0) return MetricValue::undefined("no samples");
  double ece = 0;
  for (int b = 0; b < bins; ++b) {
    if (count[b] <= 0) continue;
    const double ms = sum_s[b] / count[b], my = sum_y[b] / count[b];
    ece += count[b] / total * std::abs(my - ms);
    if (curve) curve->push_back({b * step, b + 1 == bins ? 1.0 : (b + 1) * step, count[b], ms, my});
  }
  return MetricValue::of(ece);
}

// ---- multi-class ----
namespace {

void check_multiclass(std::span<const int> y, std::span<const double> probs, int classes,
                      std::span<const double> w, const char* what) {
  STRAND_CHECK(classes >= 2, "{}: need at least 2 classes, got {}", what, classes);
  STRAND_CHECK(probs.size() == y.size() * classes, "{}: {} scores for {} rows x {} classes", what,
               probs.size(), y.size(), classes);
  STRAND_CHECK(w.empty() || w.size() == y.size(), "{}: {} weights for {} samples", what, w.size(),
               y.size());
  for (size_t i = 0; i < y.size(); ++i)
    STRAND_CHECK(y[i] >= 0 && y[i] < classes, "{}: class {} at row {} is not in [0, {})", what,
                 y[i], i, classes);
  for (size_t i = 0; i < probs.size(); ++i)
    STRAND_CHECK(!std::isnan(probs[i]), "{}: score at row {} is NaN", what, i / classes);
}

// confusion[t * C + p] with weights.
std::vector<double> multiclass_confusion(std::span<const int> y, std::span<const double> probs,
                                         int classes, std::span<const double> w) {
  const auto pred = argmax_rows(probs, classes);
  std::vector<double> cm(static_cast<size_t>(classes) * classes, 0.0);
  for (size_t i = 0; i < y.size(); ++i) cm[y[i] * classes + pred[i]] += weight_of(w, i);
  return cm;
}

}  // namespace

std::vector<int> argmax_rows(std::span<const double> probs, int classes) {
  const size_t n = probs.size() / classes;
  std::vector<int> out(n);
  for (size_t i = 0; i < n; ++i) {
    const double* row = probs.data() + i * classes;
    out[i] = static_cast<int>(std::max_element(row, row + classes) - row);
  }
  return out;
}

MetricValue multiclass_accuracy(std::span<const int> y, std::span<const double> probs, int classes,
                                std::span<const double> w) {
  check_multiclass(y, probs, classes, w, "multiclass_accuracy");
  const auto cm = multiclass_confusion(y, probs, classes, w);
  double correct = 0, total = 0;
  for (int t = 0; t < classes; ++t)
    for (int p = 0; p < classes; ++p) {
      total += cm[t * classes + p];
      if (t == p) correct += cm[t * classes + p];
    }
  if (total <= 0) return MetricValue::undefined("no samples");
  return MetricValue::of(correct / total);
}

MetricValue multiclass_balanced_accuracy(std::span<const int> y, std::span<const double> probs,
                                         int classes, std::span<const double> w) {
  check_multiclass(y, probs, classes, w, "multiclass_balanced_accuracy");
  const auto cm = multiclass_confusion(y, probs, classes, w);
  double sum = 0;
  int present = 0;
  for (int t = 0; t < classes; ++t) {
    double row = 0;
    for (int p = 0; p < classes; ++p) row += cm[t * classes + p];
    if (row <= 0) continue;  // sklearn drops classes absent from y_true (with a warning)
    sum += cm[t * classes + t] / row;
    ++present;
  }
  if (present < 2) return MetricValue::undefined("only one class in the labels");
  return MetricValue::of(sum / present);
}

MetricValue multiclass_matthews(std::span<const int> y, std::span<const double> probs, int classes,
                                std::span<const double> w) {
  check_multiclass(y, probs, classes, w, "multiclass_matthews");
  const auto cm = multiclass_confusion(y, probs, classes, w);
  std::vector<double> t_sum(classes, 0), p_sum(classes, 0);
  double correct = 0, n = 0;
  for (int t = 0; t < classes; ++t)
    for (int p = 0; p < classes; ++p) {
      const double v = cm[t * classes + p];
      t_sum[t] += v;
      p_sum[p] += v;
      n += v;
      if (t == p) correct += v;
    }
  int present = 0;
  for (double v : t_sum) present += v > 0;
  if (present < 2) return MetricValue::undefined("only one class in the labels");
  double tp = 0, pp = 0, tt = 0;
  for (int c = 0; c < classes; ++c) {
    tp += t_sum[c] * p_sum[c];
    pp += p_sum[c] * p_sum[c];
    tt += t_sum[c] * t_sum[c];
  }
  const double cov_ytyp = correct * n - tp, cov_ypyp = n * n - pp, cov_ytyt = n * n - tt;
  if (cov_ypyp * cov_ytyt == 0) return MetricValue::of(0.0);
  return MetricValue::of(cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp));
}

MetricValue multiclass_macro_auroc(std::span<const int> y, std::span<const double> probs,
                                   int classes, std::span<const double> w) {
  check_multiclass(y, probs, classes, w, "multiclass_macro_auroc");
  const size_t n = y.size();
  std::vector<int> yc(n);
  std::vector<double> sc(n);
  double sum = 0;
  for (int c = 0; c < classes; ++c) {
    for (size_t i = 0; i < n; ++i) {
      yc[i] = y[i] == c;
      sc[i] = probs[i * classes + c];
    }
    const auto order = order_by_score_descending(sc);
    const auto auc = roc_auc_sorted(yc, sc, order, w);
    if (!auc.defined) return MetricValue::undefined(strand::format("class {}: {}", c, auc.reason));
    sum += auc.value;
  }
  return MetricValue::of(sum / classes);
}

MetricValue multiclass_log_loss(std::span<const int> y, std::span<const double> probs, int classes,
                                std::span<const double> w) {
  check_multiclass(y, probs, classes, w, "multiclass_log_loss");
  if (!in_unit_interval(probs))
    return MetricValue::undefined("scores are not probabilities in [0, 1]");
  const double eps = std::numeric_limits<double>::epsilon();
  double sum = 0, total = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double p = std::clamp(probs[i * classes + y[i]], eps, 1 - eps);
    const double wi = weight_of(w, i);
    sum += -wi * std::log(p);
    total += wi;
  }
  if (total <= 0) return MetricValue::undefined("no samples");
  return MetricValue::of(sum / total);
}

// ---- regression ----
namespace {

void check_regression(std::span<const double> y, std::span<const double> p,
                      std::span<const double> w, const char* what) {
  check_sizes(y.size(), p.size(), w, what);
  for (size_t i = 0; i < y.size(); ++i) {
    STRAND_CHECK(!std::isnan(y[i]), "{}: label at row {} is NaN", what, i);
    STRAND_CHECK(!std::isnan(p[i]), "{}: prediction at row {} is NaN", what, i);
  }
}

MetricValue weighted_pearson(std::span<const double> a, std::span<const double> b,
                             std::span<const double> w) {
  double total = 0, ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double wi = weight_of(w, i);
    total += wi;
    ma += wi * a[i];
    mb += wi * b[i];
  }
  if (total <= 0) return MetricValue::undefined("no samples");
  ma /= total;
  mb /= total;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double wi = weight_of(w, i), da = a[i] - ma, db = b[i] - mb;
    sab += wi * da * db;
    saa += wi * da * da;
    sbb += wi * db * db;
  }
  if (saa <= 0 || sbb <= 0) return MetricValue::undefined("constant input");
  return MetricValue::of(std::clamp(sab / std::sqrt(saa * sbb), -1.0, 1.0));
}

}  // namespace

std::vector<double> average_ranks(std::span<const double> values, std::span<const double> w) {
  std::vector<int64_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  double before = 0;
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    double group = 0;
    for (; j < order.size() && values[order[j]] == values[order[i]]; ++j)
      group += weight_of(w, order[j]);
    const double rank = before + (group + 1) / 2;
    for (size_t k = i; k < j; ++k) ranks[order[k]] = rank;
    before += group;
    i = j;
  }
  return ranks;
}

MetricValue pearson(std::span<const double> y, std::span<const double> p,
                    std::span<const double> w) {
  check_regression(y, p, w, "pearson");
  return weighted_pearson(y, p, w);
}

MetricValue spearman(std::span<const double> y, std::span<const double> p,
                     std::span<const double> w) {
  check_regression(y, p, w, "spearman");
  return weighted_pearson(average_ranks(y, w), average_ranks(p, w), w);
}

MetricValue mean_squared_error(std::span<const double> y, std::span<const double> p,
                               std::span<const double> w) {
  check_regression(y, p, w, "mean_squared_error");
  return weighted_mean_squared(y, p, w);
}

}  // namespace strand::rules
