// What `strand train` does around the training loop, as library code: the data checks it runs on
// its own splits before training (Rule 1 leakage, too-small splits) and the comparison of the
// chosen model with the strongest baseline on test (Rule 2).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "rules/io.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace strand::train {

// Rule 1 on a run's own splits, with `strand check splits`' detector and defaults
// (rules::find_duplicates: exact, reverse-complement and MinHash near-duplicates at identity
// >= 0.85 across splits; for BED input also intervals overlapping across splits).
struct SplitLeakage {
  int64_t exact = 0, reverse_complement = 0, near_duplicate = 0, overlapping_intervals = 0;
  bool leak() const {
    return exact + reverse_complement + near_duplicate + overlapping_intervals > 0;
  }
  // "128 exact, 0 reverse-complement and 349 near-duplicate pairs across splits"
  std::string sentence() const;
  nlohmann::json to_json() const;
};
// all: the run's examples with their splits (rules::load_source); bed_path: the BED the examples
// came from (in order), or empty.
SplitLeakage check_split_leakage(const rules::LabelledSequences& all,
                                 const std::string& bed_path = "");

// One warning per split (valid, test) too small to rank models: fewer than min_per_class
// examples of some class (binary tasks: of positives or negatives; regression: rows). Empty when
// every split is large enough.
std::vector<std::string> small_split_warnings(const rules::LabelledSequences& all,
                                              int64_t min_per_class = 50);

// Both checks before training: returns {"leakage": {...}, "small_data": [warnings]} and prints
// each problem as a "strand train: warning: ..." line on stderr (when warn). strict: leakage
// is an error instead (naming the counts and `strand check splits --dedup-out`).
nlohmann::json check_run_data(const rules::LabelledSequences& all, const std::string& bed_path,
                              bool strict, bool warn);

// The default model for this data (Rule 5): "cnn-linear" (the cnn with a linear one-hot path)
// when rules::diagnose_alignment calls the task aligned on train and valid rows (test is never
// read), else "cnn". why receives the diagnosis.
std::string default_model_for(const rules::LabelledSequences& all, nlohmann::json& why);

// The chosen model's test predictions beside the run: OUT_DIR/scores.tsv (name + one column per
// task or class) and OUT_DIR/labels.tsv, in test-row order (the report draws its curves from them).
void write_test_predictions(const std::string& out_dir, const ModelInfo& info,
                            const data::Dataset& dataset, const std::vector<int64_t>& test_rows,
                            const Predictions& test);

struct BaselineComparisonOptions {
  int replicates = 1000;  // bootstrap replicates
  uint64_t seed = 1;
  bool sensitive = false;  // Rule 10 mark for the baselines that memorise training rows
  std::string out_dir;     // writes baselines/<strongest>/ (metrics.json, scores.tsv) here
};

// Rules 2 and 5: every applicable baseline on the run's splits (all: rules::load_source with the
// trainer's split rules, so valid is the trainer's valid even when it was carved from train), the
// strongest chosen on VALIDATION (never test), scored on the same test sequences, and the model
// compared with it (DeLong per task; multi-class: McNemar on accuracy and a paired bootstrap of
// macro AUROC). Returns {"name", "chosen_by", "candidates": {name: valid metric}, "test": panel,
// "comparison", "summary", "verdict": one plain sentence saying whether the baseline wins}.
nlohmann::json compare_with_strongest_baseline(const rules::LabelledSequences& all,
                                               const BaselineComparisonOptions& options,
                                               const ModelInfo& info, const data::Dataset& dataset,
                                               const std::vector<int64_t>& test_rows,
                                               const Predictions& model_test);

// Rule 9: calibration fitted on the chosen model's validation predictions and applied to its
// test predictions (rules::calibrate_on_valid: Platt per task, temperature for multi-class), ECE
// and reliability curves before and after; null for regression.
nlohmann::json calibration_of(const ModelInfo& info, const Predictions& valid,
                              const Predictions& test);

// Rule 7: the train/valid gap of a run at its chosen and its last epoch, and a sentence.
nlohmann::json overfitting_of(const TrainResult& r);

}  // namespace strand::train
