// Metric panels: every metric of a task kind with bootstrap confidence intervals, as the JSON
// that `strand metrics`, `strand baseline` and the trainer's metrics.json share.
//
// Binary / multi-label layout:
//   {"kind": "binary", "n": N, "tasks": {TASK: {"auroc": x, "auprc": x, "prevalence": x, ...,
//     "ci": {"auroc": [lo, hi], ...}, "undefined": {"auroc": "reason"}, "reliability": [...]}},
//    "macro": {...}, "micro": {...}, "bootstrap": {...}}
// Multi-class: top-level "accuracy", "balanced_accuracy", "mcc", "macro_auroc", "log_loss", "ci".
// Regression: "tasks": {TASK: {"pearson", "spearman", "mse", "ci"}}, "macro".
// An undefined metric is null, with its reason under "undefined".
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "rules/bootstrap.h"

namespace strand::rules {

struct PanelOptions {
  double threshold = 0.5;  // predicted positive when score >= threshold
  int ece_bins = 10;
  BootstrapOptions bootstrap;
};

// The names of the per-task binary metrics, in output order.
const std::vector<std::string>& binary_metric_names();

// Binary or multi-label: labels and scores are row-major n x tasks.size(); a NaN label means
// "missing" and drops that row from that task only. Scores must not be NaN where labels exist.
nlohmann::json binary_panel(const std::vector<std::string>& tasks, std::span<const double> labels,
                            std::span<const double> scores, const PanelOptions& options);

// Multi-class: y[i] in [0, classes.size()), probs row-major n x classes.size().
nlohmann::json multiclass_panel(const std::vector<std::string>& classes, std::span<const int> y,
                                std::span<const double> probs, const PanelOptions& options);

// Regression: labels and predictions row-major n x tasks.size(); NaN label = missing.
nlohmann::json regression_panel(const std::vector<std::string>& tasks,
                                std::span<const double> labels, std::span<const double> predictions,
                                const PanelOptions& options);

// Writes a MetricValue into obj[name] (a number, or null plus obj["undefined"][name] = reason).
void put_metric(nlohmann::json& obj, const std::string& name, const MetricValue& value);

}  // namespace strand::rules
