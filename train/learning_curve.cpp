// The learning curve; see learning_curve.h.
#include "train/learning_curve.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "data/random.h"
#include "rules/report.h"
#include "train/cross_validation.h"
#include "train/trainer.h"

namespace strand::train {

std::vector<int64_t> training_subset(const data::SplitDataset& splits, double fraction,
                                     uint64_t seed) {
  STRAND_CHECK(fraction > 0 && fraction <= 1, "learning-curve fraction must be in (0, 1], got {}",
               fraction);
  const auto& rows = splits.train();
  const std::vector<int> strata = cv_strata(splits.dataset(), rows);
  std::map<int, std::vector<std::pair<uint64_t, int64_t>>> by_stratum;
  for (size_t i = 0; i < rows.size(); ++i)
    by_stratum[strata[i]].emplace_back(data::mix64(seed ^ data::mix64(rows[i])), rows[i]);
  std::vector<int64_t> out;
  for (auto& [_, members] : by_stratum) {
    std::sort(members.begin(), members.end());
    const auto keep = static_cast<size_t>(std::ceil(fraction * members.size() - 1e-9));
    for (size_t k = 0; k < keep; ++k) out.push_back(members[k].second);
  }
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json learning_curve(const data::SplitDataset& splits, TrainConfig config,
                              const LearningCurveOptions& o,
                              const std::function<void(int, double)>& progress) {
  STRAND_CHECK(o.fractions.size() >= 2, "a learning curve needs at least 2 fractions, got {}",
               o.fractions.size());
  STRAND_CHECK(std::is_sorted(o.fractions.begin(), o.fractions.end()),
               "learning-curve fractions must increase");
  config.progress = false;
  nlohmann::json points = nlohmann::json::array();
  std::string monitor;
  bool lower_is_better = false;
  std::vector<double> scores;
  for (size_t i = 0; i < o.fractions.size(); ++i) {
    const auto rows = training_subset(splits, o.fractions[i], o.seed);
    auto subset = std::make_shared<data::SplitDataset>(splits.with_train_rows(
        rows, strand::format("learning curve at {} of train", o.fractions[i])));
    Trainer trainer(subset, config, "");
    const TrainResult r = trainer.fit();
    monitor = r.monitor;
    lower_is_better = monitor == "loss" || monitor == "mse" || monitor == "log_loss";
    const double v = r.best_epoch > 0 ? r.best_metric : std::nan("");
    scores.push_back(v);
    points.push_back({{"fraction", o.fractions[i]},
                      {"train_rows", rows.size()},
                      {"valid", std::isfinite(v) ? nlohmann::json(v) : nlohmann::json()},
                      {"best_epoch", r.best_epoch}});
    if (progress) progress(static_cast<int>(i) + 1, v);
  }
  const size_t n = scores.size();
  const double gain = (lower_is_better ? -1 : 1) * (scores[n - 1] - scores[n - 2]);
  std::string verdict = std::isnan(gain) ? "undefined"
                        : gain > o.flat  ? "rising"
                        : gain < -o.flat ? "falling"
                                         : "flat";
  const std::string step = strand::format("from {}% to {}% of the training rows",
                                          rules::fixed(100 * o.fractions[n - 2], 0),
                                          rules::fixed(100 * o.fractions[n - 1], 0));
  std::string sentence = strand::format(
      "validation {} {} -> {} {} (gain {}): ", monitor, rules::fixed(scores[n - 2], 4),
      rules::fixed(scores[n - 1], 4), step, rules::fixed(gain, 4));
  if (verdict == "rising")
    sentence += "still rising; more data of this kind would likely help";
  else if (verdict == "flat")
    sentence += strand::format(
        "flat (within {}); more data of this kind is unlikely to help much; a different model or "
        "features might",
        o.flat);
  else if (verdict == "falling")
    sentence += "falling, which more data should not do: the scores are noisy (small valid?)";
  else
    sentence += "a point has no usable model";
  return {{"monitor", monitor},
          {"points", points},
          {"gain", std::isnan(gain) ? nlohmann::json() : nlohmann::json(gain)},
          {"verdict", verdict},
          {"scored_on", "the full validation split (test never read)"},
          {"sentence", sentence}};
}

}  // namespace strand::train
