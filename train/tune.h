// Rule 6, hyper-parameter search: a search space (YAML or JSON) over the model (the zoo, YAML
// model files, or generated cnn variants of a chosen depth, kernel width, filters and dropout),
// optimiser, learning rate, batch size and weight decay; random configurations trained under
// asynchronous successive halving (ASHA: every trial gets the first rung's epochs; a trial moves
// up to eta times as many as soon as it is among the best 1/eta of the results its rung has so
// far, without waiting for the rung to fill; a free worker takes the next job at once), within a
// budget of trials and time. Selection reads validation only; the test split stays sealed through
// the whole search and is opened once, for the chosen model. Every step is appended to
// DIR/tune_log.jsonl (each append an atomic rewrite under an flock), and trial DIR/trials/<id>/
// keeps its checkpoints, so a killed search resumes where it stopped. Under mpirun every rank is
// a worker taking jobs from the shared board (DIR/tune_board.jsonl) as it frees up.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/split_dataset.h"
#include "runtime/comm.h"
#include "train/config.h"
#include "train/cross_validation.h"

namespace strand::train {

// One searched setting: a list of choices, or a range sampled uniformly (on a log scale for
// log_uniform; integers for int_uniform).
struct SearchDimension {
  std::string key;
  std::string kind;  // choice, uniform, log_uniform, int_uniform
  std::vector<nlohmann::json> choices;
  double lo = 0, hi = 0;
};

class SearchSpace {
 public:
  // Keys: model, optimizer, lr, batch_size, weight_decay, and for model "cnn-variant" depth,
  // kernel, filters, dropout. A value is a scalar (fixed), a list (choices) or a one-key map
  // {uniform | log_uniform | int_uniform: [lo, hi]}. An unknown key or impossible value is an
  // error naming the source, line and key.
  static SearchSpace parse(const std::string& text, const std::string& source);
  static SearchSpace from_file(const std::string& path);
  // The default space (see default_text()); default_model heads its model choices.
  static SearchSpace default_space(const std::string& default_model);
  static std::string default_text(const std::string& default_model);

  // The configuration of trial `trial` (deterministic in seed and trial).
  nlohmann::json sample(uint64_t seed, int trial) const;
  const std::vector<SearchDimension>& dimensions() const { return dims_; }
  nlohmann::json to_json() const;

 private:
  std::vector<SearchDimension> dims_;
};

// The YAML model of a cnn variant: depth blocks of conv1d (filters, kernel, same padding),
// batch norm, ReLU, max-pool 2 and dropout, then a global max pool and a linear read-out.
std::string cnn_variant_yaml(int64_t length, int64_t depth, int64_t kernel, int64_t filters,
                             double dropout);

struct TuneOptions {
  int trials = 6;          // random configurations
  int min_epochs = 1;      // epochs of the first rung
  int max_epochs = 3;      // epochs of the last rung
  int eta = 3;             // keep the best 1/eta of each rung
  double max_seconds = 0;  // > 0: no rung job starts after this much time (jobs in flight finish)
  uint64_t seed = 1;       // sampling of configurations
  bool open_test = true;   // evaluate the chosen model on test once at the end
  std::string out_dir;     // required: tune_log.jsonl, trials/<id>/, tune.json
  int bootstrap = 1000;    // replicates for the chosen model's panels
};

// The epochs of each rung: min_epochs, min_epochs * eta, ... capped at max_epochs.
std::vector<int> rung_epochs(const TuneOptions& options);

// Runs (or resumes) the search. base: the training config every trial starts from (its model,
// optimizer, lr, batch size and weight decay are overridden by the space; trials train with a
// constant learning rate and no early stopping, so a promoted trial continues where it
// stopped). comm: null, or the ranks to spread trials over (every rank calls tune and works
// through the jobs; DIR must be one directory for all of them; only rank 0 opens test). Returns
// {"trials": [{id, config, rung, epochs, valid, curve, rank, epsilon}], "chosen": {...}, "rungs",
// "test_lock": [...], "test": panel or null, "privacy": DP cost of the search or null, "sentence"}.
nlohmann::json tune(data::SplitDataset& splits, TrainConfig base, const SearchSpace& space,
                    const TuneOptions& options,
                    const std::shared_ptr<runtime::Communicator>& comm = nullptr,
                    const std::function<void(const std::string&)>& progress = {});

// Nested cross-validation of the whole search (`strand tune --cv K`): outer folds of train +
// valid (stratified and grouped as cross_validate's); in each, tune() runs on the other folds
// (its valid an inner part of them, DIR/fold-<k>/ its directory) and its chosen model is scored
// once on the held-out fold. Returns cross_validate_with's result (fold mean +/- sd, pooled
// out-of-fold panel) with per_fold[].chosen (each fold's configuration), "nested" and
// "final_model". The run's test split is never read. Refused with --dp (see the message).
nlohmann::json tune_cross_validated(data::SplitDataset& splits, const TrainConfig& base,
                                    const SearchSpace& space, const TuneOptions& options,
                                    CrossValidationOptions cv,
                                    const std::shared_ptr<runtime::Communicator>& comm = nullptr,
                                    const std::function<void(const std::string&)>& progress = {});

}  // namespace strand::train
