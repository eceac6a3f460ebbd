// The training loop: epochs or steps of forward / loss / backward / clip / optimiser step under a
// learning-rate schedule, validation every epoch with the rules panel, early stopping on a
// validation metric keeping the best model, a stop with a message on a NaN/Inf loss, log.jsonl,
// a terminal progress bar, and exact resume from DIR/checkpoint.safetensors.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "data/loader.h"
#include "data/split_dataset.h"
#include "layers/sequential.h"
#include "runtime/comm.h"
#include "runtime/data_parallel.h"
#include "runtime/optim.h"
#include "runtime/per_sample.h"
#include "runtime/zero_optimizer.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/evaluate.h"
#include "train/gradient_step.h"

namespace strand::train {

struct TrainResult {
  int64_t epochs = 0, steps = 0;  // completed epochs and optimiser steps in total
  bool diverged = false;          // stopped on a non-finite loss
  bool stopped_early = false;     // patience ran out
  std::string stop_reason;        // one line saying why training stopped
  std::string monitor;            // the metric that chose the best epoch
  int64_t best_epoch = -1;        // 1-based; -1 when no epoch completed
  double best_metric = 0;
  nlohmann::json best_valid;  // validation panel of the best epoch
  // Rule 7: the monitor on a fixed probe of training rows (eval mode, as validation) and the
  // train/valid gap (positive: training scores better), at the best and the last epoch.
  double best_train_metric = 0, best_gap = 0, last_metric = 0, last_train_metric = 0, last_gap = 0;
  double seconds = 0;             // training time of this call (excluding validation)
  double samples_per_second = 0;  // training throughput of this call
  runtime::ReduceStats comm;      // data-parallel gradient communication of this call
  // DP-SGD (config.dp.enabled): the guarantee after the steps taken, and what it came from.
  bool dp = false;
  double epsilon = 0, delta = 0, noise_multiplier = 0, sampling_rate = 0;
  bool dp_guaranteed =
      false;  // false for shuffled fixed-size batches (not what accounting assumes)
};

// Data-parallel training (Trainer::distribute).
struct DataParallelOptions {
  std::shared_ptr<runtime::Communicator> comm;  // this rank's communicator
  runtime::ReducerOptions reducer{};            // buckets and compression (plain data parallel)
  bool zero1 = false;  // shard the optimiser state instead (reduce-scatter / all-gather)
};

class Trainer {
 public:
  // Builds config.model for the dataset's length and outputs (seeded by config.seed). With an empty
  // out_dir nothing is written; otherwise out_dir gets model.safetensors (best epoch),
  // checkpoint.safetensors (last epoch) and log.jsonl.
  Trainer(std::shared_ptr<const data::SplitDataset> splits, TrainConfig config, std::string out_dir,
          RunMetadata run = {});

  // Trains data-parallel over the communicator's ranks; call it on every rank, before resume()
  // and fit(). It checks that every rank has the same model, data, seed and options (an error
  // naming what differs otherwise), starts every rank from rank 0's weights, gives each rank its
  // disjoint shard of every epoch's training examples (config.batch_size per rank; the global
  // batch is size() times that and the run equals one process at the global batch), averages
  // gradients across ranks (or shards the optimiser with zero1), reduces losses and validation
  // across ranks, and lets only rank 0 print, log and write files. A lost rank raises an error
  // naming it and the step; the last checkpoint stays intact.
  void distribute(DataParallelOptions options);
  bool is_writer() const { return !comm_ || comm_->rank() == 0; }

  // Continues from a checkpoint.safetensors written by a run of the same model and optimiser.
  // Refuses a checkpoint of other data (by checksum) and brings the best model so far into
  // out_dir (from beside the checkpoint) so the run keeps it even if no later epoch beats it.
  void resume(const std::string& checkpoint_path);

  // Trains until the epochs / max_steps are done, patience runs out or the loss is not finite.
  TrainResult fit();
  // One epoch and its validation; false when training must stop (see result()).
  bool run_epoch();

  layers::Sequential& model() { return *model_; }
  std::shared_ptr<layers::Sequential> shared_model() const { return model_; }
  const ModelInfo& info() const { return info_; }
  const TrainingState& state() const { return state_; }
  const TrainResult& result() const { return result_; }
  const TrainConfig& config() const { return config_; }
  runtime::Optimizer& optimizer() { return *optimizer_; }
  // "auroc" (binary, multi-label), "macro_auroc" (multi-class) or "loss" (regression) for "auto".
  const std::string& monitor() const { return monitor_; }
  bool lower_is_better() const { return lower_is_better_; }
  std::string model_path() const;       // out_dir/model.safetensors
  std::string checkpoint_path() const;  // out_dir/checkpoint.safetensors

 private:
  double metric_of(const nlohmann::json& panel) const;
  bool better(double value, double best) const;
  void log(const nlohmann::json& record);
  void adopt_best_model(const std::string& checkpoint_path);
  bool stop(const std::string& reason);
  // Validation predictions: every rank scores its share of the rows and all ranks gather them.
  Predictions predict_valid() const;
  // The mean over the global batch of a per-rank mean (sum of value * rows over ranks / global).
  double global_mean(double value, int64_t rows, int64_t global_rows) const;

  // Up to max(|valid|, 1000) training rows, evenly spaced, scored each epoch for the gap.
  std::vector<int64_t> train_probe_;
  std::shared_ptr<const data::SplitDataset> splits_;
  TrainConfig config_;
  std::string out_dir_;
  RunMetadata run_;
  runtime::Device device_;
  ModelInfo info_;
  std::shared_ptr<layers::Sequential> model_;
  std::unique_ptr<runtime::Optimizer> optimizer_;
  std::unique_ptr<data::BatchLoader> loader_;
  std::string monitor_;
  bool lower_is_better_ = false;
  int64_t total_steps_ = 0;
  TrainingState state_;
  TrainResult result_;
  std::ofstream log_;
  bool progress_ = false;
  bool done_ = false;
  std::shared_ptr<runtime::Communicator> comm_;    // data parallel only
  std::unique_ptr<runtime::GradReducer> reducer_;  // plain data parallel
  runtime::ZeroOptimizer* zero_ = nullptr;         // zero1: the optimiser itself
  // How each step makes its gradients: one strategy for the mode (gradient_step.h), chosen at
  // construction and again by distribute().
  void choose_gradient_step();
  std::unique_ptr<GradientStep> step_;
  // DP-SGD: the clipping engine and the mechanism's parameters.
  void setup_dp_sgd();
  void account_dp_sgd();
  std::unique_ptr<runtime::PerSampleClipper> clipper_;
  double dp_sgd_expected_batch_ = 0;
};

}  // namespace strand::train
