// What `strand train` does around the training loop, as library code: the data checks it runs on
// its own splits before training (Rule 1 leakage, too-small splits) and the comparison of the
// chosen model with the strongest baseline on test (Rule 2).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/data_source.h"
#include "data/dataset.h"
#include "data/split_dataset.h"
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
// all: the run's examples with their splits (RunDataset::rows); bed_path: the BED the examples
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

// The default model for this data (Rule 5): "cnn-aligned" (the cnn with an exact-position head)
// when rules::diagnose_alignment calls the task aligned on train and valid rows (test is never
// read), else "cnn". why receives the diagnosis.
std::string default_model_for(const rules::LabelledSequences& all, nlohmann::json& why);

struct BaselineComparisonOptions {
  int replicates = 1000;  // bootstrap replicates
  uint64_t seed = 1;
  bool sensitive = false;  // Rule 10 mark for the baselines that memorise training rows
  std::string out_dir;     // writes baselines/<strongest>/ (metrics.json, scores.tsv) here
};

// Rules 2 and 5: every applicable baseline on the run's splits (all: RunDataset::rows, the
// trainer's own rows and splits, so valid is the trainer's valid even when carved from train), the
// strongest chosen on VALIDATION (never test), scored on the same test sequences, and the model
// compared with it (DeLong per task; multi-class: McNemar on accuracy and a paired bootstrap of
// macro AUROC). Returns {"name", "chosen_by", "candidates": {name: valid metric}, "test": panel,
// "comparison", "summary", "verdict": one plain sentence saying whether the baseline wins}.
nlohmann::json compare_with_strongest_baseline(const rules::LabelledSequences& all,
                                               const BaselineComparisonOptions& options,
                                               const ModelInfo& info, const data::Dataset& dataset,
                                               const std::vector<int64_t>& test_rows,
                                               const Predictions& model_test);

// Rule 7: the train/valid gap of a run at its chosen and its last epoch, and a sentence.
nlohmann::json overfitting_of(const TrainResult& r);

// A run's data loaded once: the examples, the trainer's sealed splits and, when decoded, the same
// rows with the same splits as text (rules::LabelledSequences) for the data checks (Rules 1, 5)
// and the baselines (Rule 2). Every one of them sees exactly the rows the trainer trains on,
// selects on and tests on; nothing reads the files twice.
struct RunDataset {
  std::shared_ptr<data::Dataset> dataset;
  std::shared_ptr<data::SplitDataset> splits;
  rules::LabelledSequences rows;  // empty unless decode
};
RunDataset load_run_data(const data::DataSource& source, bool decode);

// No data given: the built-in simulated dataset (data::simulate's defaults), written to OUT/data by
// the writer (rank 0; the other ranks read the same files) and set as d's FASTA and labels.
// Returns whether it was used.
bool use_simulated_data(data::DataSource& d, const std::string& out, runtime::Communicator* comm,
                        bool writer);

// The defaults `strand train` picks for what the user did not set (given(key): the TrainConfig key
// was set): under DP the small CNN with larger batches for longer; DeepSEA at lr 3e-4. Returns one
// note per changed default, for the user.
std::vector<std::string> apply_run_defaults(TrainConfig& c,
                                            const std::function<bool(const std::string&)>& given);

struct RunOptions {
  data::DataSource data;  // no fasta and no bed: the built-in simulated dataset, in OUT/data
  TrainConfig config;
  std::string out = "strand-run";
  std::string resume;         // a checkpoint.safetensors to continue from
  std::string command;        // the command line that started the run, kept in OUT/run.json
  int replicates = 1000;      // bootstrap replicates of the metrics' intervals
  bool baseline = true;       // Rule 2: baselines and the comparison with the strongest on test
  bool strict = false;        // Rule 1: leakage across the splits is an error
  int permutations = 0;       // Rule 7: label-permutation runs
  bool choose_model = false;  // Rule 5: the default model follows the data (one process)
  // Rule 6 inside train: with choose_model, a small search (default_tuning) picks the learning
  // rate and batch size of the default model before the run, where the data is small enough
  // (the CLI turns it off when --lr or --batch-size is given).
  bool default_tune = true;
  // Instead of one run (one process each): K-fold cross-validation on train + valid (OUT/cv.json,
  // fold models), or a learning curve over training fractions (OUT/learning_curve.json). The
  // report's metrics are then those files.
  int cv = 0;
  std::string cv_group = "auto";  // auto (chromosome for BED input, else duplicates), ...
  bool learning_curve = false;
  std::vector<double> curve_fractions = {0.1, 0.25, 0.5, 1.0};
  DataParallelOptions parallel;                  // comm null: one process
  std::function<void(const std::string&)> note;  // progress lines for a person; null: silent
};

// The small search `strand train` runs before training the default model (see default_tuning):
// trials, epochs of the rungs, and the largest training set (rows x length, in bases) it runs on.
struct DefaultTuning {
  int trials = 4;
  int min_epochs = 1, max_epochs = 2, eta = 2;
  int64_t max_bases = 1'000'000;
  int64_t min_run_epochs = 10;  // a shorter run is not worth the search's epochs
};

// Rule 6 by default: when train holds at most t.max_bases bases and config trains at least
// t.min_run_epochs epochs, tunes config's learning rate and
// batch size for its model by asynchronous successive halving on train and valid (test sealed;
// the search in out_dir, tune_log.jsonl and trials/), and sets the chosen ones in config. Returns
// {"ran", "reason", "trials", "chosen", "seconds", "epochs", "sentence"} (ran false, with the
// reason, when the data is too large or the run too short).
nlohmann::json default_tuning(data::SplitDataset& splits, TrainConfig& config,
                              const std::string& out_dir, const DefaultTuning& t = {});

struct RunReport {
  nlohmann::json metrics;  // what OUT/metrics.json holds (null on ranks other than 0)
  TrainResult result;
  int64_t valid_rows = 0;
  std::string test_reason;  // why the test split was unsealed
  bool simulated = false;   // trained on the built-in simulated dataset
};

// The whole of `strand train` but its printing: holds OUT (with_run_directory), checks the data
// (Rules 1, 5), trains, evaluates the chosen checkpoint on valid and then the sealed test split,
// calibrates, compares with the strongest baseline, and writes OUT/metrics.json. The CLI and the
// Python package both run this, so their results agree bit for bit.
RunReport run_training(RunOptions o);

}  // namespace strand::train
