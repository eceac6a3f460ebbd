// Evaluation metrics with scikit-learn's exact definitions (ties included), each able to take
// sample weights so a bootstrap replicate is just a vector of resampling counts.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace strand::rules {

// A metric's value, or the reason it has none (one class only, constant input, ...). Undefined
// metrics are reported as null with the reason, never as a number.
struct MetricValue {
  double value = 0.0;
  bool defined = false;
  std::string reason;  // why it is undefined; empty when defined

  static MetricValue of(double v) { return {v, true, {}}; }
  static MetricValue undefined(std::string why) { return {0.0, false, std::move(why)}; }
};

// ---- binary (labels 0/1; weights empty = all 1; a weight of 0 drops the sample) ----

// Indices sorted by score, highest first (stable). Computing it once lets a bootstrap reuse it.
std::vector<int64_t> order_by_score_descending(std::span<const double> scores);

// roc_auc_score: area under the ROC curve; tied scores count one half.
MetricValue roc_auc(std::span<const int> y, std::span<const double> scores,
                    std::span<const double> weights = {});
MetricValue roc_auc_sorted(std::span<const int> y, std::span<const double> scores,
                           std::span<const int64_t> order, std::span<const double> weights);

// average_precision_score: sum over distinct thresholds of (R_k - R_{k-1}) * P_k.
MetricValue average_precision(std::span<const int> y, std::span<const double> scores,
                              std::span<const double> weights = {});
MetricValue average_precision_sorted(std::span<const int> y, std::span<const double> scores,
                                     std::span<const int64_t> order,
                                     std::span<const double> weights);

// Weighted confusion counts of the prediction `score >= threshold`.
struct Confusion {
  double tp = 0, fp = 0, tn = 0, fn = 0;
};
Confusion confusion_at(std::span<const int> y, std::span<const double> scores, double threshold,
                       std::span<const double> weights = {});

// Undefined exactly where scikit-learn raises UndefinedMetricWarning (its zero_division case).
MetricValue precision(const Confusion& c);
MetricValue recall(const Confusion& c);
MetricValue f1(const Confusion& c);
// Mean recall over the classes present in y_true; undefined with one class only.
MetricValue balanced_accuracy(const Confusion& c);
// matthews_corrcoef; undefined when y_true has one class, 0 (as scikit-learn) when the
// predictions are constant but y_true has both classes.
MetricValue matthews(const Confusion& c);

// The threshold (one of the scores) maximising F1 of `score >= threshold`; ties go to the highest.
struct F1Optimum {
  MetricValue threshold, f1, precision, recall;
};
F1Optimum f1_optimal(std::span<const int> y, std::span<const double> scores,
                     std::span<const int64_t> order, std::span<const double> weights);

// brier_score_loss: mean (score - y)^2; undefined unless scores lie in [0, 1].
MetricValue brier(std::span<const int> y, std::span<const double> scores,
                  std::span<const double> weights = {});

// Expected calibration error over `bins` equal-width bins of [0, 1], binned as scikit-learn's
// calibration_curve(strategy="uniform"): bin 0 is [0, 1/B], bin b is (b/B, (b+1)/B].
// ECE = sum_b (n_b / n) |mean(y)_b - mean(score)_b|. Empty bins are left out of the curve.
struct ReliabilityBin {
  double lo = 0, hi = 0, count = 0, mean_score = 0, fraction_positive = 0;
};
MetricValue expected_calibration_error(std::span<const int> y, std::span<const double> scores,
                                       int bins, std::span<const double> weights = {},
                                       std::vector<ReliabilityBin>* curve = nullptr);

// ---- multi-class (y in [0, C); probabilities row-major n x C) ----
MetricValue multiclass_accuracy(std::span<const int> y, std::span<const double> probs, int classes,
                                std::span<const double> weights = {});
MetricValue multiclass_balanced_accuracy(std::span<const int> y, std::span<const double> probs,
                                         int classes, std::span<const double> weights = {});
MetricValue multiclass_matthews(std::span<const int> y, std::span<const double> probs, int classes,
                                std::span<const double> weights = {});
// roc_auc_score(multi_class="ovr", average="macro"); undefined when a class is absent from y.
MetricValue multiclass_macro_auroc(std::span<const int> y, std::span<const double> probs,
                                   int classes, std::span<const double> weights = {});
// log_loss: probabilities clipped to [eps, 1 - eps] (float64 eps), not renormalised.
MetricValue multiclass_log_loss(std::span<const int> y, std::span<const double> probs, int classes,
                                std::span<const double> weights = {});
// Predicted class per row: the first maximum, as numpy's argmax.
std::vector<int> argmax_rows(std::span<const double> probs, int classes);

// ---- regression ----
MetricValue pearson(std::span<const double> y, std::span<const double> pred,
                    std::span<const double> weights = {});
// Pearson correlation of average ranks (ties share their mean rank), as scipy.stats.spearmanr.
MetricValue spearman(std::span<const double> y, std::span<const double> pred,
                     std::span<const double> weights = {});
MetricValue mean_squared_error(std::span<const double> y, std::span<const double> pred,
                               std::span<const double> weights = {});

// Average ranks (1-based) of values with integer replication weights; ties share the mean rank.
std::vector<double> average_ranks(std::span<const double> values,
                                  std::span<const double> weights = {});

}  // namespace strand::rules
