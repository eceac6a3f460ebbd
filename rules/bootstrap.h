// Seeded bootstrap over named samples: each replicate is a vector of resampling counts (a sample
// drawn k times has weight k), so metrics that take weights need no copying or re-sorting.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rules/metrics.h"

namespace strand::rules {

struct BootstrapOptions {
  int replicates = 1000;  // 0 turns confidence intervals off
  uint64_t seed = 1;
  double level = 0.95;
};

// Counts of each of n units in replicate r: n draws with replacement, a pure function of
// (seed, r) so results do not depend on the number of threads.
std::vector<double> bootstrap_counts(int64_t n, uint64_t seed, int replicate);

// A confidence interval, or why there is none.
struct Interval {
  double lo = 0, hi = 0;
  bool defined = false;
  std::string reason;
};

// Percentile interval of values at `level` (numpy.percentile's linear interpolation).
Interval percentile_interval(std::vector<double> values, double level);

using NamedValues = std::vector<std::pair<std::string, MetricValue>>;
using ReplicateFn = std::function<NamedValues(std::span<const double> counts)>;

// Runs fn on every replicate (in parallel; fn must be thread-safe) and returns a percentile
// interval per metric name. A metric undefined in more than half of the replicates gets none.
std::map<std::string, Interval> bootstrap_intervals(int64_t n, const ReplicateFn& fn,
                                                    const BootstrapOptions& options);

// The replicate values themselves (per name, defined ones only), for paired comparisons.
std::map<std::string, std::vector<double>> bootstrap_values(int64_t n, const ReplicateFn& fn,
                                                            const BootstrapOptions& options,
                                                            std::map<std::string, int>* undefined);

}  // namespace strand::rules
