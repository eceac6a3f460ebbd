// Rule 7, a learning curve: the same training on growing, nested, label-stratified subsets of the
// training split (e.g. 10, 25, 50 and 100%), each model's epoch chosen and scored on the full
// validation split (test is never read), and whether the curve says more data would help.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/split_dataset.h"
#include "train/config.h"

namespace strand::train {

struct LearningCurveOptions {
  std::vector<double> fractions = {0.1, 0.25, 0.5, 1.0};  // of the training rows, in (0, 1]
  uint64_t seed = 1;                                      // which rows each subset keeps
  double flat = 0.01;  // a last step gaining less than this (in the monitor) reads as flat
};

// The training rows of a stratified subset: per stratum (train::cv_strata) the first
// ceil(fraction * count) rows in a seeded order, so smaller subsets nest in larger ones.
std::vector<int64_t> training_subset(const data::SplitDataset& splits, double fraction,
                                     uint64_t seed);

// Returns {"monitor", "points": [{"fraction", "train_rows", "valid", "best_epoch"}], "gain"
// (last point minus the one before, better-is-positive), "verdict": "rising" / "flat" /
// "falling", "sentence"}. progress hears each finished point (1-based) and its score.
nlohmann::json learning_curve(const data::SplitDataset& splits, TrainConfig config,
                              const LearningCurveOptions& options,
                              const std::function<void(int, double)>& progress = {});

}  // namespace strand::train
