// DeLong's test for two correlated AUROCs measured on the same samples (DeLong, DeLong &
// Clarke-Pearson 1988), with Sun & Xu's (2014) O(n log n) placement computation.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace strand::rules {

// Placement values of one classifier: per positive, the fraction of negatives it outranks (ties
// count one half); per negative, the fraction of positives that outrank it. Both average to AUC.
struct Placements {
  std::vector<double> positives;  // V10, one per positive, in sample order
  std::vector<double> negatives;  // V01, one per negative, in sample order
  double auc = 0;
};

// Midrank-based placements in O(n log n) (Sun & Xu 2014, Algorithm 1).
Placements delong_placements(std::span<const int> y, std::span<const double> scores);

struct DelongResult {
  bool defined = false;
  std::string reason;  // why there is no test (one class, identical classifiers, ...)
  double auc_a = 0, auc_b = 0, difference = 0;  // difference = auc_a - auc_b
  double variance = 0;                          // Var(auc_a - auc_b)
  double z = 0, p_value = 1;                    // two-sided
  double ci_lo = 0, ci_hi = 0;                  // 95% interval for the difference
};

// The test from two classifiers' placements on the same positives and negatives (same order).
DelongResult delong_from_placements(const Placements& a, const Placements& b);

// The test from labels (0/1) and two score vectors over the same samples.
DelongResult delong_test(std::span<const int> y, std::span<const double> scores_a,
                         std::span<const double> scores_b);

}  // namespace strand::rules
