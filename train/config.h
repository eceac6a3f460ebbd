// Training configuration (optimiser, schedule, stopping, logging) and the learning-rate schedule
// it describes; the configuration round-trips through JSON so checkpoints can record it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace strand::train {

struct TrainConfig {
  std::string model = "cnn";  // layers::build_model name
  int64_t epochs = 20;
  int64_t max_steps = 0;  // > 0: stop after this many optimiser steps (wins over epochs)
  int64_t batch_size = 32;
  std::string optimizer = "adam";  // adam, adamw, sgd
  double lr = 3e-3;
  double weight_decay = 0;
  double momentum = 0.9;            // sgd only
  std::string schedule = "cosine";  // constant, step, cosine
  int64_t warmup_steps = 0;         // linear warm-up from 0 to lr over this many steps
  int64_t step_epochs = 1;          // step: multiply the lr by gamma every step_epochs epochs
  double gamma = 0.5;
  double clip_norm = 0;             // > 0: clip the global gradient norm to this
  std::string monitor = "auto";     // validation metric for early stopping and the best checkpoint
  int64_t patience = 5;             // > 0: stop after this many epochs without improvement
  uint64_t seed = 1;                // model initialisation, dropout and shuffling
  int64_t log_every = 50;           // steps between step records in log.jsonl (0: none)
  bool reverse_complement = false;  // augmentation
  bool rc_average = false;          // validation and test average both strands' predictions
  bool sensitive = false;           // Rule 10: sensitive data (export needs DP or an override)
  std::string device = "cpu";       // cpu or cuda
  std::string precision = "fp32";   // fp32, or bf16: autocast on CUDA (layers/autocast.h)
  std::string conv_algo = "auto";   // CUDA conv1d: auto, custom or cudnn (layers/gpu_math.h)
  bool tf32 = false;                // CUDA: fp32 convolutions and matmuls on TF32 tensor cores
  std::string rnn_algo = "auto";    // CUDA LSTM/GRU implementation (layers/gpu_math.h)
  bool progress = true;             // a progress bar, only when stderr is a terminal

  // DP-SGD (Rule 10): each example's gradient clipped to max_grad_norm, Gaussian noise of std
  // noise_multiplier * max_grad_norm added to the sum. noise_multiplier 0: the accountant finds
  // the smallest one reaching target_epsilon at delta over the planned steps. delta 0: 1/(10 N)
  // for N training examples, rounded down to a power of ten. Sampling "poisson" is what the
  // guarantee assumes; "shuffle" (fixed-size batches) trains the same way but is not covered.
  // JSON: the object "dp" with these field names.
  struct Dp {
    bool enabled = false;
    double max_grad_norm = 1.0;
    double noise_multiplier = 0;
    double target_epsilon = 0;
    double delta = 0;
    std::string sampling = "poisson";
    std::string accountant = "rdp";  // rdp or pld
  } dp;
};

// The default DP delta for n training examples: 1/(10 n) rounded down to a power of ten.
double default_delta(int64_t n);

nlohmann::json to_json(const TrainConfig& c);
// Unknown keys are an error naming the closest valid key.
TrainConfig config_from_json(const nlohmann::json& j);
// Checks values (positive sizes, known optimiser / schedule names); errors name the field.
void validate(const TrainConfig& c);

// Learning rate at optimiser step `step` (0-based) in epoch `epoch` (0-based) of a run of
// total_steps steps: warm-up first, then the schedule.
double learning_rate(const TrainConfig& c, int64_t step, int64_t epoch, int64_t total_steps);

}  // namespace strand::train
