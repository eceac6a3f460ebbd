// Two runs side by side on the same test sequences: DeLong's test for each AUROC difference and a
// paired bootstrap (same resampled names for both runs) for AUPRC and every other difference.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "rules/baselines.h"
#include "rules/bootstrap.h"

namespace strand::rules {

struct CompareOptions {
  BootstrapOptions bootstrap;
  double alpha = 0.05;  // significance level of the verdicts
};

// labels: rows x tasks (multi-class: rows x 1 class index; NaN = missing). scores_a/b: rows x
// columns (tasks, or classes for multi-class), rows in the same order as labels.
nlohmann::json compare_runs(TaskKind kind, const std::vector<std::string>& columns,
                            const std::vector<double>& labels, const std::vector<double>& scores_a,
                            const std::vector<double>& scores_b, const CompareOptions& options);

// Counts of the AUROC verdicts (binary: DeLong per task; multi-class: bootstrap of macro AUROC;
// regression: bootstrap of Pearson) and one sentence for a summary, e.g. "A beats B
// significantly on 3 of 4 tasks (AUROC, DeLong, alpha 0.05); B beats A on none".
nlohmann::json summarize_comparison(const nlohmann::json& comparison);

// McNemar's exact test of two classifiers' accuracy on the same rows: a_only = rows only A gets
// right, b_only = rows only B gets right; p = two-sided binomial(a_only + b_only, 1/2) p-value.
struct McNemarResult {
  int64_t a_only = 0, b_only = 0;
  double p_value = 1.0;
};
McNemarResult mcnemar_test(std::span<const int> correct_a, std::span<const int> correct_b);

// Two-sided paired-bootstrap p-value of a difference: twice the smaller tail beyond zero.
double paired_bootstrap_p(const std::vector<double>& differences);

}  // namespace strand::rules
