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
#include "rules/baselines.h"
#include "rules/io.h"
#include "train/config.h"

namespace strand::train {

// Folds are planned on the rows cross-validation may read (train + valid; never test) as text
// with their labels and, for genome intervals, chromosomes (rules::LabelledSequences): the
// trainer's rows decoded with rules::decode_rows, or the baselines' rows from rules::load_source,
// so both see one data model and the same folds.

// How rows are kept together: "duplicates" (clusters of exact, reverse-complement and
// near-duplicate sequences, rules::find_duplicates' defaults), "chromosome" (whole chromosomes,
// rows.chroms, plus the duplicate clusters), "none", or "auto": chromosome for genome intervals
// (BED input), else duplicates.
std::string resolved_group_by(const rules::LabelledSequences& rows, const std::string& group_by);
// "mean +/- sd" of a fold summary {"mean", "sd"} to 4 decimals ("-" where undefined).
std::string mean_sd_text(const nlohmann::json& m);
std::vector<int64_t> cv_groups(const rules::LabelledSequences& rows, const std::string& group_by);

// The stratum of each row: the class (multi-class), the label of the task with the fewest
// positives (binary / multi-label; 2 when missing) or 0 (regression).
std::vector<int> cv_strata(const rules::LabelledSequences& rows);
// The same for rows of a dataset (reads labels only).
std::vector<int> cv_strata(const data::Dataset& dataset, const std::vector<int64_t>& rows);

// Checks that `folds` folds can each hold every class (binary: each task's positives and
// negatives; multi-class: each class present; regression: rows) and that there are at least as
// many groups: an error naming the smallest count otherwise.
void check_fold_count(const rules::LabelledSequences& rows, const std::vector<int64_t>& groups,
                      int folds);

// The fold (0 .. folds-1) of each row: whole groups, placed one at a time (largest first, ties
// in seeded order) into the fold whose share of the group's strata is smallest, so single rows
// of one stratum go round the folds in turn.
std::vector<int> assign_folds(const std::vector<int>& strata, const std::vector<int64_t>& groups,
                              int folds, uint64_t seed);

struct CrossValidationOptions {
  int folds = 5;
  uint64_t seed = 1;                  // fold assignment
  std::string group_by = "auto";      // see cv_groups
  double inner_valid_fraction = 0.1;  // of each fold's training rows, for epoch selection
  int bootstrap = 1000;               // replicates for the pooled panel's intervals
  // The model's: fold models in out_dir/fold-<k>/ and the pooled out-of-fold predictions in
  // out_dir/scores.tsv, labels.tsv (required). The baselines': each one's pooled predictions in
  // out_dir/<baseline>/ (optional).
  std::string out_dir;
};

// The folds of train + valid: groups, strata and the fold of each pooled row.
struct CvPlan {
  int folds = 0, inner_folds = 0;
  uint64_t seed = 1;
  std::string group_by;               // resolved
  std::vector<int64_t> pool, groups;  // the pooled rows' ids (dataset rows, or rows of `all`)
  std::vector<int> strata, fold_of;
  // Fold k: train = the other folds less an inner validation part (1 / inner_folds of them,
  // grouped and stratified), valid = that part, held = fold k's rows (ids from pool).
  struct FoldRows {
    std::vector<int64_t> train, valid, held;
  };
  FoldRows rows_of(int k) const;
  // Fold k as splits over the dataset (pool ids are its rows): test = the held-out rows (sealed,
  // named as the fold's held-out rows when opened).
  data::SplitDataset fold(const data::SplitDataset& splits, int k) const;
};
// Checks the fold count (check_fold_count) and assigns the folds of rows (ids[i] is row i's id).
CvPlan plan_folds(const rules::LabelledSequences& rows, std::vector<int64_t> ids,
                  const CrossValidationOptions& options);
// The folds of a run's train + valid rows (decoded with rules::decode_rows; test is not read).
CvPlan plan_folds(const data::SplitDataset& splits, const CrossValidationOptions& options);

// Options with folds = 0: no cross-validation (a command's default).
inline CrossValidationOptions no_cv() {
  CrossValidationOptions o;
  o.folds = 0;
  return o;
}

// Model selection inside one fold before its training (e.g. strand train's default tuning): reads
// fold.train() and fold.valid() only, may change config, returns what it did for the record.
using FoldTuner = std::function<nlohmann::json(data::SplitDataset& fold, TrainConfig& config,
                                               const std::string& dir)>;

// Runs the folds with config (progress off) and returns {"folds": K, "group_by", "strata",
// "per_fold": [{fold, train, inner_valid, held_out, best_epoch, tuning, metrics, model}],
// "summary": {metric: {mean, sd, values}}, "pooled": panel of the out-of-fold predictions,
// "pooled_summary", "models": fold model paths, "tuning", "final_model": how to use them, "test":
// "untouched", "sentence"}. tune, when set, runs inside every fold on that fold's training part
// (nested: the held-out fold never informs its own hyper-parameters). progress hears each
// finished fold (1-based) and its headline value.
nlohmann::json cross_validate(const data::SplitDataset& splits, TrainConfig config,
                              const CrossValidationOptions& options,
                              const std::function<void(int, double)>& progress = {},
                              const FoldTuner& tune = {});

// Fits one fold's model on fold.train() (choosing on fold.valid(); fold.test() are the held-out
// rows, never read here) with its files in dir, adds what it chose to record, and returns the
// model's path.
using FoldFitter = std::function<std::string(data::SplitDataset& fold, const std::string& dir,
                                             nlohmann::json& record)>;

// cross_validate with another fitter (e.g. a whole hyper-parameter search per fold: nested
// cross-validation, train/tune.h); config gives the scoring device, batch and rc_average. A
// fitter that opens its fold's held-out rows is an error. The result has no "final_model": the
// caller states it.
nlohmann::json cross_validate_with(const data::SplitDataset& splits, const TrainConfig& config,
                                   const CrossValidationOptions& options, const FoldFitter& fit,
                                   const std::function<void(int, double)>& progress = {});

// "metric value [lo, hi]; ..." of a pooled panel's fold metrics (the 95% bootstrap intervals).
std::string pooled_text(const nlohmann::json& panel);

// `strand baseline --cv K`: every baseline of config on each fold of all's train + valid rows
// (rules::load_source's rows and splits; the same plan_folds as the model's cross-validation, so
// the same folds for the same examples; FASTA records keep their own lengths), scored on the
// held-out fold; returns {"folds", "group_by", "rows", "baselines": {name: {metric: {mean, sd,
// folds_defined, values}}}, "pooled": {name: panel of its out-of-fold predictions, with
// bootstrap intervals (config.panel.bootstrap)}, "test": "untouched", "sentence"}. progress hears
// each finished fold (1-based).
nlohmann::json cross_validate_baselines(const rules::LabelledSequences& all,
                                        const rules::BaselineConfig& config,
                                        const CrossValidationOptions& options,
                                        const std::function<void(int)>& progress = {});

}  // namespace strand::train
