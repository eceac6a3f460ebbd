// Rule 7, a label-permutation test: the same training (model, config, splits, epoch chosen on
// validation) repeated on data whose training labels are shuffled, so the labels no longer depend
// on the sequences. The real model's validation score is compared with that null distribution:
// p = (1 + #{null >= real}) / (N + 1). p > 0.05: the model is no better than chance.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/split_dataset.h"
#include "train/config.h"

namespace strand::train {

struct PermutationResult {
  std::string monitor;              // the validation metric compared (the trainer's monitor)
  bool lower_is_better = false;     // loss-like monitors
  double observed = 0;              // the real model's best validation score
  std::vector<double> null_scores;  // each permuted run's best validation score
  double p_value = 1;
  double alpha = 0.05;
  bool better_than_chance() const { return p_value <= alpha; }
  // Whether N permutations can reach p <= alpha at all (the smallest p is 1 / (N + 1)).
  bool conclusive() const { return 1.0 / (null_scores.size() + 1.0) <= alpha; }
  // "validation macro_auroc 0.9731 against 20 label permutations (null mean 0.51, max 0.55):
  // p = 0.048" and "no better than chance" when p > alpha.
  std::string sentence() const;
  nlohmann::json to_json() const;
};

// Trains `permutations` models (seeds config.seed + 1, + 2, ...; nothing written, no progress)
// on copies of the dataset whose training rows' labels are permuted; valid keeps its true
// labels. observed: the real run's best validation value of the same monitor. progress hears
// each finished permutation (1-based) and its score.
PermutationResult permutation_test(const data::SplitDataset& splits, TrainConfig config,
                                   int permutations, double observed,
                                   const std::function<void(int, double)>& progress = {});

}  // namespace strand::train
