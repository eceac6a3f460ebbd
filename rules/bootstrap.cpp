// Seeded, thread-count-independent bootstrap resampling and percentile intervals.
#include "rules/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "core/error.h"

namespace strand::rules {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<double> bootstrap_counts(int64_t n, uint64_t seed, int replicate) {
  std::vector<double> counts(n, 0.0);
  uint64_t state = seed * 0xD1B54A32D192ED03ull + static_cast<uint64_t>(replicate) + 1;
  for (int64_t i = 0; i < n; ++i) {
    // Lemire's multiply-shift maps a 64-bit draw onto [0, n) without division.
    const auto idx = static_cast<int64_t>(
        (static_cast<unsigned __int128>(splitmix64(state)) * static_cast<uint64_t>(n)) >> 64);
    counts[idx] += 1.0;
  }
  return counts;
}

Interval percentile_interval(std::vector<double> values, double level) {
  STRAND_CHECK(level > 0 && level < 1, "confidence level must be in (0, 1), got {}", level);
  if (values.empty()) return {0, 0, false, "no defined resamples"};
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    const double pos = q * (values.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (pos - lo) * (values[hi] - values[lo]);
  };
  const double tail = (1 - level) / 2;
  return {at(tail), at(1 - tail), true, {}};
}

std::map<std::string, std::vector<double>> bootstrap_values(int64_t n, const ReplicateFn& fn,
                                                            const BootstrapOptions& options,
                                                            std::map<std::string, int>* undefined) {
  STRAND_CHECK(options.replicates >= 0, "bootstrap replicates must be >= 0, got {}",
               options.replicates);
  std::map<std::string, std::vector<double>> values;
  if (undefined) undefined->clear();
  if (options.replicates == 0) return values;
  // Replicate 0 fixes the metric names; every replicate is kept as a row of doubles (NaN =
  // undefined) so thousands of tasks x replicates stay compact.
  const NamedValues first = fn(bootstrap_counts(n, options.seed, 0));
  const size_t m = first.size();
  std::vector<double> table(static_cast<size_t>(options.replicates) * m);
  auto store = [&](const NamedValues& rep, int r) {
    STRAND_CHECK(rep.size() == m, "bootstrap replicate {} returned {} metrics, replicate 0 {}", r,
                 rep.size(), m);
    for (size_t j = 0; j < m; ++j)
      table[r * m + j] = rep[j].second.defined ? rep[j].second.value : std::nan("");
  };
  store(first, 0);
  // An exception must not leave an OpenMP region: keep the first one and rethrow it after.
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic)
  for (int r = 1; r < options.replicates; ++r) {
    try {
      store(fn(bootstrap_counts(n, options.seed, r)), r);
    } catch (...) {
#pragma omp critical(strand_bootstrap_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  for (size_t j = 0; j < m; ++j) {
    auto& list = values[first[j].first];
    int bad = 0;
    for (int r = 0; r < options.replicates; ++r) {
      const double v = table[r * m + j];
      if (std::isnan(v))
        ++bad;
      else
        list.push_back(v);
    }
    if (undefined && bad) (*undefined)[first[j].first] = bad;
  }
  return values;
}

std::map<std::string, Interval> bootstrap_intervals(int64_t n, const ReplicateFn& fn,
                                                    const BootstrapOptions& options) {
  std::map<std::string, int> undefined;
  const auto values = bootstrap_values(n, fn, options, &undefined);
  std::map<std::string, Interval> out;
  for (const auto& [name, list] : values) {
    const int bad = undefined.count(name) ? undefined.at(name) : 0;
    if (2 * bad > options.replicates) {
      out[name] = {0, 0, false,
                   strand::format("undefined in {} of {} resamples", bad, options.replicates)};
      continue;
    }
    out[name] = percentile_interval(list, options.level);
  }
  return out;
}

}  // namespace strand::rules
