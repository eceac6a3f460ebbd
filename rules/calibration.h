// Rule 9, predictions read correctly: calibration fitted on validation scores and applied to test
// scores — Platt scaling per task for binary / multi-label scores, temperature scaling for
// multi-class probabilities — with the expected calibration error (ECE) and the reliability
// curve before and after.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rules/baselines.h"

namespace strand::rules {

struct Calibrator {
  TaskKind kind = TaskKind::kBinary;
  // Binary: per task t, p' = sigmoid(a[t] * logit(p) + b[t]) (Platt 1999, with his smoothed
  // targets). Multi-class: p' = softmax(log p / temperature) (Guo et al. 2017).
  std::vector<double> a, b;
  double temperature = 1.0;
  int64_t classes = 0;  // multi-class

  // scores: rows x columns (tasks, or classes for multi-class), as fitted.
  std::vector<double> apply(const std::vector<double>& scores) const;
  nlohmann::json to_json() const;  // {"method", and the parameters}
  // Reads to_json's form back for a model with `columns` outputs of this kind; an error names
  // what is missing or impossible (a model file's metadata is hostile input).
  static Calibrator from_json(const nlohmann::json& j, TaskKind kind, int64_t columns);
};

// labels: rows x tasks (NaN = missing) for binary; rows x 1 class index for multi-class. scores:
// rows x columns. Regression is an error (nothing to calibrate).
Calibrator fit_calibrator(TaskKind kind, int64_t columns, const std::vector<double>& labels,
                          const std::vector<double>& scores);

// Mean log loss of probabilities: per labelled (row, task) for binary and multi-label (labels
// rows x C, NaN = missing), per row for multi-class (labels: class indices). What the fits
// minimise and what judges whether calibration helps.
double log_loss(TaskKind kind, size_t C, const std::vector<double>& labels,
                const std::vector<double>& scores);

// ECE over `bins` equal-width bins and the reliability curve: per task for binary ({"ece": mean
// over tasks, "tasks": {name: {"ece", "reliability": [...]}}}), and of the top-label confidence
// against accuracy for multi-class ({"ece", "reliability"}).
nlohmann::json calibration_report(TaskKind kind, const std::vector<std::string>& columns,
                                  const std::vector<double>& labels,
                                  const std::vector<double>& scores, int bins = 10);

// Fits on valid, applies to test: {"method", the parameters, "fitted_on": "valid", "valid":
// {"before", "after"}, "test": {"before", "after"}} with calibration_report's entries, plus
// whether calibration helps judged on valid alone: "valid_cross_fitted": {"log_loss_before",
// "log_loss_after", "ece_before", "ece_after"} with each fifth of valid calibrated by a fit on the
// other four, and "recommended" (a lower log loss after), so the choice never reads test. When
// test_calibrated is given it receives the calibrated test scores.
nlohmann::json calibrate_on_valid(TaskKind kind, const std::vector<std::string>& columns,
                                  const std::vector<double>& valid_labels,
                                  const std::vector<double>& valid_scores,
                                  const std::vector<double>& test_labels,
                                  const std::vector<double>& test_scores, int bins = 10,
                                  std::vector<double>* test_calibrated = nullptr);

}  // namespace strand::rules
