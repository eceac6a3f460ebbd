// The label-permutation test; see permutation.h.
#include "train/permutation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "rules/report.h"
#include "train/trainer.h"

namespace strand::train {

using rules::fixed;

std::string PermutationResult::sentence() const {
  const double mean =
      null_scores.empty()
          ? 0
          : std::accumulate(null_scores.begin(), null_scores.end(), 0.0) / null_scores.size();
  const double extreme =
      null_scores.empty()
          ? 0
          : (lower_is_better ? *std::min_element(null_scores.begin(), null_scores.end())
                             : *std::max_element(null_scores.begin(), null_scores.end()));
  std::string s =
      strand::format("validation {} {} against {} label permutations (null mean {}, {} {}): p = {}",
                     monitor, fixed(observed, 4), null_scores.size(), fixed(mean, 4),
                     lower_is_better ? "min" : "max", fixed(extreme, 4), fixed(p_value, 4));
  if (better_than_chance())
    s += "; better than chance";
  else if (!conclusive())
    s += strand::format(
        "; inconclusive: {} permutations cannot give p <= {} (the smallest p is 1 / (N + 1); "
        "use at least {})",
        null_scores.size(), alpha, static_cast<int>(std::ceil(1 / alpha - 1 - 1e-9)));
  else
    s += strand::format("; no better than chance (p > {})", alpha);
  return s;
}

nlohmann::json PermutationResult::to_json() const {
  return {{"monitor", monitor},
          {"observed", observed},
          {"null", null_scores},
          {"permutations", null_scores.size()},
          {"p_value", p_value},
          {"alpha", alpha},
          {"better_than_chance", better_than_chance()},
          {"conclusive", conclusive()},
          {"method",
           "training labels permuted, valid labels kept; the same model, config and epoch "
           "selection; p = (1 + #{null at least as good}) / (N + 1)"},
          {"sentence", sentence()}};
}

PermutationResult permutation_test(const data::SplitDataset& splits, TrainConfig config,
                                   int permutations, double observed,
                                   const std::function<void(int, double)>& progress) {
  STRAND_CHECK(permutations > 0, "--permutations must be positive, got {}", permutations);
  PermutationResult out;
  out.observed = observed;
  const uint64_t seed = config.seed;
  config.progress = false;
  for (int i = 1; i <= permutations; ++i) {
    auto permuted = std::make_shared<const data::Dataset>(
        splits.dataset().with_permuted_labels(splits.train(), seed * 1000003ULL + i));
    auto null_splits = std::make_shared<data::SplitDataset>(splits.with_dataset(permuted));
    config.seed = seed + static_cast<uint64_t>(i);
    Trainer trainer(null_splits, config, "");
    const TrainResult r = trainer.fit();
    out.monitor = r.monitor;
    out.lower_is_better = r.monitor == "loss" || r.monitor == "mse" || r.monitor == "log_loss" ||
                          r.monitor == "brier" || r.monitor == "ece";
    // A run that produced no usable epoch scores as the worst possible (it is chance).
    const double v =
        r.best_epoch > 0 ? r.best_metric : (out.lower_is_better ? INFINITY : -INFINITY);
    out.null_scores.push_back(v);
    if (progress) progress(i, v);
  }
  const auto as_good = std::count_if(out.null_scores.begin(), out.null_scores.end(), [&](double v) {
    return out.lower_is_better ? v <= observed : v >= observed;
  });
  out.p_value = (1.0 + static_cast<double>(as_good)) / (permutations + 1.0);
  return out;
}

}  // namespace strand::train
