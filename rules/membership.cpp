// Membership-inference statistics: per-example losses and confidences, LiRA calibration, the
// attack's ROC summary and the Clopper-Pearson epsilon lower bound.
#include "rules/membership.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "rules/metrics.h"

namespace strand::rules {
namespace {

constexpr double kClamp = 1e-7;

bool is_multiclass(const std::string& kind) {
  return kind == "multi-class" || kind == "multiclass";
}

// Columns of labels per row for the kind: 1 for multi-class, else the outputs.
int64_t label_columns(const std::string& kind, int64_t outputs) {
  return is_multiclass(kind) ? 1 : outputs;
}

void check_shapes(const std::string& kind, std::span<const double> scores,
                  std::span<const double> labels, int64_t rows) {
  STRAND_CHECK(kind == "binary" || kind == "multi-label" || kind == "multilabel" ||
                   is_multiclass(kind) || kind == "regression",
               "unknown model kind '{}' (binary, multi-label, multi-class, regression)", kind);
  STRAND_CHECK(rows > 0 && scores.size() % static_cast<size_t>(rows) == 0,
               "{} scores do not split into {} rows", scores.size(), rows);
  const int64_t outputs = static_cast<int64_t>(scores.size()) / rows;
  STRAND_CHECK(static_cast<int64_t>(labels.size()) == rows * label_columns(kind, outputs),
               "{} labels for {} rows of {} outputs ({})", labels.size(), rows, outputs, kind);
}

template <typename PerTask>
std::vector<double> per_example(const std::string& kind, std::span<const double> scores,
                                std::span<const double> labels, int64_t rows, bool average,
                                const PerTask& f) {
  check_shapes(kind, scores, labels, rows);
  const int64_t outputs = static_cast<int64_t>(scores.size()) / rows;
  std::vector<double> out(static_cast<size_t>(rows), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const double* s = scores.data() + r * outputs;
    if (is_multiclass(kind)) {
      const double y = labels[r];
      STRAND_CHECK(std::isnan(y) || (y >= 0 && y < outputs && y == std::floor(y)),
                   "row {}: class index {} is not in [0, {})", r, y, outputs);
      out[r] = std::isnan(y) ? 0.0 : f(s[static_cast<int64_t>(y)], 1.0, true);
      continue;
    }
    const double* y = labels.data() + r * outputs;
    double total = 0;
    int64_t n = 0;
    for (int64_t t = 0; t < outputs; ++t) {
      if (std::isnan(y[t])) continue;
      total += f(s[t], y[t], false);
      ++n;
    }
    out[r] = average && n > 0 ? total / n : total;
  }
  return out;
}

double clamp_probability(double p) { return std::clamp(p, kClamp, 1 - kClamp); }

// Regularised incomplete beta I_x(a, b) by its continued fraction (modified Lentz), using the
// symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly.
double incomplete_beta(double x, double a, double b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incomplete_beta(1 - x, b, a);
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  constexpr double kTiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m < 10000; ++m) {
    const double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + num / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + num / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1) < 1e-15) break;
  }
  return std::exp(log_front) * h / a;
}

// The p in (0, 1) where the increasing function I_p(a, b) equals target.
double inverse_incomplete_beta(double target, double a, double b) {
  double lo = 0, hi = 1;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (incomplete_beta(mid, a, b) < target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

void check_counts(int64_t k, int64_t n, double confidence) {
  STRAND_CHECK(n > 0 && k >= 0 && k <= n, "need 0 <= successes <= trials, trials > 0; got {} of {}",
               k, n);
  STRAND_CHECK(confidence > 0 && confidence < 1, "confidence must be in (0, 1), got {}",
               confidence);
}

}  // namespace

std::vector<double> example_losses(const std::string& kind, std::span<const double> scores,
                                   std::span<const double> labels, int64_t rows) {
  if (kind == "regression") {
    return per_example(kind, scores, labels, rows, true,
                       [](double s, double y, bool) { return (s - y) * (s - y); });
  }
  return per_example(kind, scores, labels, rows, true, [](double s, double y, bool multiclass) {
    const double p = clamp_probability(s);
    if (multiclass) return -std::log(p);
    return -(y * std::log(p) + (1 - y) * std::log1p(-p));
  });
}

std::vector<double> example_confidences(const std::string& kind, std::span<const double> scores,
                                        std::span<const double> labels, int64_t rows) {
  if (kind == "regression") {
    return per_example(kind, scores, labels, rows, false,
                       [](double s, double y, bool) { return -(s - y) * (s - y); });
  }
  return per_example(kind, scores, labels, rows, false, [](double s, double y, bool multiclass) {
    const double p = clamp_probability(multiclass || y >= 0.5 ? s : 1 - s);
    return std::log(p) - std::log1p(-p);
  });
}

std::vector<double> calibrated_scores(std::span<const double> target,
                                      const std::vector<std::vector<double>>& reference) {
  STRAND_CHECK(!reference.empty(), "calibration needs at least one reference model");
  const size_t n = target.size();
  for (const auto& r : reference) {
    STRAND_CHECK(r.size() == n, "a reference model has {} confidences for {} examples", r.size(),
                 n);
  }
  const double k = static_cast<double>(reference.size());
  std::vector<double> mean(n, 0.0);
  for (const auto& r : reference) {
    for (size_t i = 0; i < n; ++i) mean[i] += r[i] / k;
  }
  // Global (pooled) variance: with few reference models a per-example one is too noisy; with a
  // single model there is none, and a constant scale leaves the ranking unchanged.
  double sd = 1;
  if (reference.size() > 1 && n > 0) {
    double ss = 0;
    for (const auto& r : reference) {
      for (size_t i = 0; i < n; ++i) ss += (r[i] - mean[i]) * (r[i] - mean[i]);
    }
    sd = std::sqrt(ss / (static_cast<double>(n) * (k - 1)));
    if (!(sd > 0)) sd = 1;
  }
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = (target[i] - mean[i]) / sd;
  return out;
}

double clopper_pearson_lower(int64_t k, int64_t n, double confidence) {
  check_counts(k, n, confidence);
  if (k == 0) return 0;
  const double alpha = (1 - confidence) / 2;
  // P(X >= k | p) = I_p(k, n - k + 1) = alpha.
  return inverse_incomplete_beta(alpha, static_cast<double>(k), static_cast<double>(n - k + 1));
}

double clopper_pearson_upper(int64_t k, int64_t n, double confidence) {
  check_counts(k, n, confidence);
  if (k == n) return 1;
  const double alpha = (1 - confidence) / 2;
  // P(X <= k | p) = 1 - I_p(k + 1, n - k) = alpha.
  return inverse_incomplete_beta(1 - alpha, static_cast<double>(k + 1), static_cast<double>(n - k));
}

double epsilon_lower_bound(int64_t tp, int64_t members, int64_t fp, int64_t nonmembers,
                           double delta, double confidence) {
  STRAND_CHECK(delta >= 0 && delta < 1, "delta must be in [0, 1), got {}", delta);
  const double tpr_lo = clopper_pearson_lower(tp, members, confidence);
  const double fpr_hi = clopper_pearson_upper(fp, nonmembers, confidence);
  double best = 0;
  if (tpr_lo - delta > 0 && fpr_hi > 0) best = std::max(best, std::log((tpr_lo - delta) / fpr_hi));
  if (1 - fpr_hi - delta > 0 && 1 - tpr_lo > 0) {
    best = std::max(best, std::log((1 - fpr_hi - delta) / (1 - tpr_lo)));
  }
  return best;
}

nlohmann::json AttackResult::to_json() const {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : at_fpr) {
    points.push_back({{"target_fpr", p.target_fpr},
                      {"threshold", p.threshold},
                      {"fpr", p.fpr},
                      {"tpr", p.tpr},
                      {"false_positives", p.false_positives},
                      {"true_positives", p.true_positives},
                      {"supported", p.supported},
                      {"epsilon_lower_bound", p.epsilon_lower_bound}});
  }
  return {{"name", name},
          {"method", method},
          {"members", members},
          {"nonmembers", nonmembers},
          {"auroc", auroc},
          {"at_fpr", points},
          {"epsilon_lower_bound", epsilon_lower_bound}};
}

AttackResult evaluate_attack(const std::string& name, const std::string& method,
                             std::span<const double> member_scores,
                             std::span<const double> nonmember_scores,
                             const AttackOptions& options) {
  STRAND_CHECK(!member_scores.empty() && !nonmember_scores.empty(),
               "a membership attack needs members and non-members, got {} and {}",
               member_scores.size(), nonmember_scores.size());
  for (auto side : {member_scores, nonmember_scores}) {
    for (double s : side) STRAND_CHECK(std::isfinite(s), "attack score {} is not finite", s);
  }
  STRAND_CHECK(options.delta >= 0 && options.delta < 1, "delta must be in [0, 1), got {}",
               options.delta);
  for (double f : options.fprs) STRAND_CHECK(f > 0 && f < 1, "FPR {} is not in (0, 1)", f);

  AttackResult r;
  r.name = name;
  r.method = method;
  r.members = static_cast<int64_t>(member_scores.size());
  r.nonmembers = static_cast<int64_t>(nonmember_scores.size());
  std::vector<std::pair<double, int>> all;
  for (double s : member_scores) all.emplace_back(s, 1);
  for (double s : nonmember_scores) all.emplace_back(s, 0);
  {
    std::vector<int> y;
    std::vector<double> s;
    for (const auto& [score, member] : all) {
      s.push_back(score);
      y.push_back(member);
    }
    r.auroc = roc_auc(y, s).value;
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });

  // Thresholds between distinct scores: flagged = scores >= threshold. cuts[j] = (tp, fp,
  // threshold) after the j-th group of tied scores.
  struct Cut {
    int64_t tp, fp;
    double threshold;
  };
  std::vector<Cut> cuts = {{0, 0, all.front().first + 1}};
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    (all[i].second ? tp : fp) += 1;
    if (i + 1 == all.size() || all[i + 1].first != all[i].first)
      cuts.push_back({tp, fp, all[i].first});
  }

  for (double f : options.fprs) {
    const int64_t allowed = static_cast<int64_t>(std::floor(f * r.nonmembers));
    Cut best = cuts.front();
    for (const Cut& c : cuts) {
      if (c.fp <= allowed && c.tp > best.tp) best = c;  // most members, then fewest errors
    }
    FprOperatingPoint p;
    p.target_fpr = f;
    p.threshold = best.threshold;
    p.true_positives = best.tp;
    p.false_positives = best.fp;
    p.tpr = static_cast<double>(best.tp) / r.members;
    p.fpr = static_cast<double>(best.fp) / r.nonmembers;
    p.supported = allowed >= 1;
    p.epsilon_lower_bound = epsilon_lower_bound(best.tp, r.members, best.fp, r.nonmembers,
                                                options.delta, options.confidence);
    r.at_fpr.push_back(p);
  }
  // The best bound over thresholds; on very many distinct scores, a subsample of them.
  const size_t stride = std::max<size_t>(1, cuts.size() / 4000);
  for (size_t j = 0; j < cuts.size(); j += stride) {
    r.epsilon_lower_bound = std::max(
        r.epsilon_lower_bound, epsilon_lower_bound(cuts[j].tp, r.members, cuts[j].fp, r.nonmembers,
                                                   options.delta, options.confidence));
  }
  return r;
}

}  // namespace strand::rules
