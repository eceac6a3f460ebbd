// ROC and precision-recall curves of a binary task with bootstrap bands (Rule 9: read predictions
// with their uncertainty). Curves are sampled on a fixed grid so replicates can be summarised
// point by point: the ROC's true positive rate at each false positive rate, the PR curve's
// interpolated precision (the best precision at this recall or higher) at each recall.
#pragma once

#include <span>
#include <vector>

#include "rules/bootstrap.h"

namespace strand::rules {

struct Curve {
  std::vector<double> x;       // the grid: false positive rate (ROC) or recall (PR)
  std::vector<double> y;       // the curve on the full data
  std::vector<double> lo, hi;  // the bootstrap band at options.level; empty without replicates
  double area = 0;             // AUROC, or average precision for PR
  double prevalence = 0;       // positives / examples: the PR curve of a random ranking
};

// Both curves of one task (labels 0/1; at least one positive and one negative, else an error
// naming the counts). grid_points >= 2 points from 0 to 1.
Curve roc_curve(std::span<const int> y, std::span<const double> scores,
                const BootstrapOptions& options, int grid_points = 101);
Curve precision_recall_curve(std::span<const int> y, std::span<const double> scores,
                             const BootstrapOptions& options, int grid_points = 101);

}  // namespace strand::rules
