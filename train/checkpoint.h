// Checkpoints: DIR/model.safetensors (the model's state_dict under PyTorch's names, with metadata
// that rebuilds it and names the run: model config, training config, seed, data checksums, strand
// version and commit) and DIR/checkpoint.safetensors (model + optimiser state + progress + RNG
// state) for resuming a run exactly.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "layers/sequential.h"
#include "rules/calibration.h"
#include "rules/privacy_record.h"
#include "runtime/optim.h"

namespace strand::train {

// What rebuilds a model: layers::build_model(name, length, outputs), or for a YAML model file the
// file's text itself (so a checkpoint rebuilds without the file), plus what its outputs mean.
struct ModelInfo {
  std::string name;  // a builder name, or the path of a YAML model file
  int64_t length = 0, outputs = 0;
  std::string kind;                // binary, multilabel, multiclass, regression
  std::vector<std::string> tasks;  // output names: label columns, or classes for multi-class
  std::string spec = {};           // the YAML model file's text; empty for the builders
  nlohmann::json to_json() const;
  static ModelInfo from_json(const nlohmann::json& j);
  std::string describe() const;       // "cnn (length 200, outputs 2)"
  rules::TaskKind task_kind() const;  // multi-label reads as binary, per task
};

// Run facts stored beside the weights: training config, seed, data checksums (JSON strings).
struct RunMetadata {
  nlohmann::json training = nlohmann::json::object();
  uint64_t seed = 0;
  nlohmann::json data = nlohmann::json::object();  // {"<path>": "<crc32>", ...}
  // Rule 10: sensitive-data mark and DP guarantee, saved as "strand.privacy" (the DP trainer fills
  // dp, epsilon, delta, accountant, noise_multiplier, sampling_rate, max_grad_norm, steps).
  rules::PrivacyRecord privacy;
};

// Rule 9: the calibration `strand train` fitted on validation and stored in the model file
// (metadata kCalibrationMetadataKey: rules::calibrate_on_valid's result without its reports), and
// whether it lowered the cross-fitted validation log loss.
inline constexpr const char* kCalibrationMetadataKey = "strand.calibration";
struct StoredCalibration {
  rules::Calibrator calibrator;
  bool recommended = false;
};

struct LoadedModel {
  ModelInfo info;
  std::shared_ptr<layers::Sequential> model;
  std::map<std::string, std::string> metadata;
  std::optional<StoredCalibration> calibration;  // none: not fitted (regression, no test, DP)
};

// Builds the model an info describes (seeded by runtime::manual_seed): its embedded YAML text when
// it has one, else layers::build_model(name, length, outputs). from_file: the YAML text was just
// read from the file info.name (errors name the file), not from a checkpoint.
std::shared_ptr<layers::Sequential> build_model(const ModelInfo& info, bool from_file = false);
// The info's spec for a model name: the file's text for a YAML model file, else empty.
std::string model_spec(const std::string& name);

void save_model(const std::string& path, const layers::Module& model, const ModelInfo& info,
                const RunMetadata& run);
// Rebuilds the model from the file's metadata and loads its weights (strict: every name and shape
// must match); a file without strand model metadata is an error saying so, and so is one whose
// checksum does not cover its metadata (unless STRAND_SKIP_CHECKSUM=1).
LoadedModel load_model(const std::string& path);

// The calibrator stored in the model loaded from `path`; an error naming the file when it has none.
const rules::Calibrator& stored_calibrator(const LoadedModel& model, const std::string& path);

// Rewrites a model file (atomically, checksum renewed) with rules::calibrate_on_valid's result
// as its "strand.calibration" metadata: the calibrator and "recommended".
void store_calibration(const std::string& path, const nlohmann::json& calibration);

// Progress of a run, saved in the resume checkpoint.
struct TrainingState {
  int64_t epoch = 0;                      // completed epochs
  int64_t step = 0;                       // optimiser steps taken
  uint64_t rng_seed = 0, rng_offset = 0;  // runtime::default_generator()
  double best_metric = 0;
  int64_t best_epoch = -1;                           // -1: none yet
  int64_t bad_epochs = 0;                            // epochs since the best
  nlohmann::json history = nlohmann::json::array();  // one record per completed epoch
  nlohmann::json data = nlohmann::json::object();    // loaded: the checkpoint's data checksums
};

void save_checkpoint(const std::string& path, const layers::Module& model, const ModelInfo& info,
                     const runtime::Optimizer& optimizer, const TrainingState& state,
                     const RunMetadata& run);
// Loads weights and optimiser state into the given model and optimiser; a checkpoint of another
// model (name, length, outputs or optimiser) is rejected naming both.
TrainingState load_checkpoint(const std::string& path, layers::Module& model,
                              const ModelInfo& expected, runtime::Optimizer& optimizer,
                              const std::string& optimizer_name);

}  // namespace strand::train
