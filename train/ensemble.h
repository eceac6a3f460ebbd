// Several trained models used as one (e.g. the folds of a cross-validation, or seeds): each
// scores the same sequences, and a prediction is the mean of their probabilities (or values)
// with the spread across models beside it.
#pragma once

#include <string>
#include <vector>

#include "data/sequence_source.h"
#include "runtime/device.h"
#include "train/checkpoint.h"

namespace strand::train {

struct Ensemble {
  ModelInfo info;  // what every member shares (the first member's)
  std::vector<std::string> paths;
  std::vector<LoadedModel> members;
};

// Loads every model; they must agree on kind, outputs (names and order) and input length: an
// error names the first model that differs and how.
Ensemble load_ensemble(const std::vector<std::string>& paths);

struct EnsembleScores {
  std::vector<double> mean, sd;  // per row and output; sd across members (0 for one member)
};
// per_member[m]: member m's scores (rows x outputs), all the same size.
EnsembleScores combine_scores(const std::vector<std::vector<double>>& per_member);

// Every member's scores of the input's sequences (batches of batch_size on device; rc_average:
// the mean of both strands' predictions; calibrated: each member's scores through the
// calibration stored in its file, an error naming a member without one), combined: what
// `strand predict` prints.
EnsembleScores score_sequences(const Ensemble& models, const data::SequenceSource& input,
                               runtime::Device device, int64_t batch_size, bool rc_average,
                               bool calibrated = false);

}  // namespace strand::train
