// K-fold cross-validation over a run's train + valid rows (the test split is never read):
// folds stratified by label and grouped so near-duplicate sequences (and, on request, whole
// chromosomes) never straddle folds; per fold a model trained on the other folds, its epoch
// chosen on an inner validation part of them, scored once on the held-out fold; the fold metrics
// as mean +/- sd and the pooled out-of-fold panel with bootstrap intervals.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/split_dataset.h"
#include "train/config.h"

namespace strand::train {

// How rows are kept together: "duplicates" (clusters of exact, reverse-complement and
// near-duplicate sequences, rules::find_duplicates' defaults), "chromosome" (whole chromosomes,
// data::Dataset::chromosome, plus the duplicate clusters) or "none".
std::vector<int64_t> cv_groups(const data::Dataset& dataset, const std::vector<int64_t>& rows,
                               const std::string& group_by);

// The stratum of each row: the class (multi-class), the label of the task with the fewest
// positives (binary / multi-label; 2 when missing) or 0 (regression).
std::vector<int> cv_strata(const data::Dataset& dataset, const std::vector<int64_t>& rows);

// Checks that `folds` folds can each hold every class (binary: each task's positives and
// negatives; multi-class: each class present; regression: rows) and that there are at least as
// many groups: an error naming the smallest count otherwise.
void check_fold_count(const data::Dataset& dataset, const std::vector<int64_t>& rows,
                      const std::vector<int64_t>& groups, int folds);

// The fold (0 .. folds-1) of each row: whole groups, placed one at a time (largest first, ties
// in seeded order) into the fold whose share of the group's strata is smallest, so single rows
// of one stratum go round the folds in turn.
std::vector<int> assign_folds(const std::vector<int>& strata, const std::vector<int64_t>& groups,
                              int folds, uint64_t seed);

struct CrossValidationOptions {
  int folds = 5;
  uint64_t seed = 1;                    // fold assignment
  std::string group_by = "duplicates";  // see cv_groups
  double inner_valid_fraction = 0.1;    // of each fold's training rows, for epoch selection
  int bootstrap = 1000;                 // replicates for the pooled panel's intervals
  std::string out_dir;                  // fold models in out_dir/fold-<k>/ (required)
};

// Runs the folds with config (progress off) and returns {"folds": K, "group_by", "strata",
// "per_fold": [{fold, train, inner_valid, held_out, best_epoch, metrics, model}], "summary":
// {metric: {mean, sd, values}}, "pooled": panel of the out-of-fold predictions, "models": fold
// model paths, "final_model": how to use them, "test": "untouched", "sentence"}. progress hears
// each finished fold (1-based) and its headline value.
nlohmann::json cross_validate(const data::SplitDataset& splits, TrainConfig config,
                              const CrossValidationOptions& options,
                              const std::function<void(int, double)>& progress = {});

}  // namespace strand::train
