// Rule 10, membership-inference audit statistics: per-example losses and LiRA confidences from a
// model's predictions, the offline calibrated score, and an attack's AUROC, TPR at fixed low FPRs
// and the empirical epsilon lower bound those imply with Clopper-Pearson confidence bounds. Scores
// are "higher = more likely a member". Training the models is the caller's job (train/).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace strand::rules {

// Per-example statistics from predictions: scores are rows x outputs probabilities (sigmoid for
// binary / multi-label, softmax for multi-class) or values (regression); labels rows x columns as
// in train::Predictions (multi-class: the class index; NaN = missing label, skipped).
// loss: mean binary cross-entropy over labelled tasks, cross-entropy, or squared error.
// confidence (LiRA's statistic, Carlini et al. 2022): the sum over labelled tasks of
// logit(p of the true label), log p_y - log(1 - p_y) for multi-class, minus the squared error for
// regression. Probabilities are clamped to [1e-7, 1 - 1e-7] so saturated outputs stay finite.
std::vector<double> example_losses(const std::string& kind, std::span<const double> scores,
                                   std::span<const double> labels, int64_t rows);
std::vector<double> example_confidences(const std::string& kind, std::span<const double> scores,
                                        std::span<const double> labels, int64_t rows);

// Offline LiRA with a global variance (Carlini et al. 2022, Sec. VI-C): for each example, how many
// standard deviations the target's confidence lies above the mean confidence of K reference
// models that did not train on it. reference[k][i] is model k's confidence on example i; the
// standard deviation is pooled over examples. With K = 1 this is per-example difficulty
// calibration (Watson et al. 2022). Errors: no reference models, or sizes that differ.
std::vector<double> calibrated_scores(std::span<const double> target,
                                      const std::vector<std::vector<double>>& reference);

// Two-sided Clopper-Pearson bounds for k successes in n trials at the given confidence
// (each bound at one-sided level (1 - confidence) / 2).
double clopper_pearson_lower(int64_t k, int64_t n, double confidence);
double clopper_pearson_upper(int64_t k, int64_t n, double confidence);

// An (epsilon, delta)-DP mechanism has TPR <= e^eps FPR + delta and 1 - FPR <= e^eps (1 - TPR) +
// delta for every test; so observing tp of members flagged and fp of non-members flagged gives
// eps >= max(ln((TPR_lo - delta) / FPR_hi), ln((1 - FPR_hi - delta) / (1 - TPR_lo))) with the
// Clopper-Pearson bounds (TPR_lo, FPR_hi) at the confidence. 0 when nothing can be claimed.
double epsilon_lower_bound(int64_t tp, int64_t members, int64_t fp, int64_t nonmembers,
                           double delta, double confidence);

struct AttackOptions {
  double delta = 1e-5;
  double confidence = 0.95;
  std::vector<double> fprs = {0.001, 0.01};
};

struct FprOperatingPoint {
  double target_fpr = 0;
  double threshold = 0;            // flag scores at or above it
  int64_t false_positives = 0;     // non-members flagged (<= target_fpr * nonmembers)
  int64_t true_positives = 0;      // members flagged
  double fpr = 0, tpr = 0;         // observed
  bool supported = false;          // at least one non-member can be a false positive there
  double epsilon_lower_bound = 0;  // from this threshold alone
};

struct AttackResult {
  std::string name, method;
  int64_t members = 0, nonmembers = 0;
  double auroc = 0.5;
  std::vector<FprOperatingPoint> at_fpr;
  // The largest bound over every threshold (the best test an auditor could pick after seeing
  // the scores: optimistic by the multiple comparisons, so also read the fixed-FPR ones).
  double epsilon_lower_bound = 0;
  nlohmann::json to_json() const;
};

// Evaluates member / non-member scores (higher = member). Errors: an empty side, non-finite
// scores, options out of range.
AttackResult evaluate_attack(const std::string& name, const std::string& method,
                             std::span<const double> member_scores,
                             std::span<const double> nonmember_scores,
                             const AttackOptions& options = {});

}  // namespace strand::rules
