// Loss per label kind, batched prediction and the rules panel of a model on a set of rows: what
// validation, `strand eval` and `strand predict` share.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "layers/module.h"
#include "train/checkpoint.h"

namespace strand::train {

// "binary" / "multi-label": BCE with logits, averaged over the labels that exist (a NaN label is
// missing: masked out, see data::read_labels); "multi-class": cross-entropy on the class index
// (labels [N, 1]); "regression": mean squared error.
runtime::Tensor loss_for(const std::string& kind, const runtime::Tensor& logits,
                         const runtime::Tensor& labels);

struct Predictions {
  int64_t rows = 0, outputs = 0;
  std::vector<double> scores;  // rows x outputs: probabilities (sigmoid / softmax) or values
  std::vector<double> labels;  // rows x label columns (multi-class: 1 column, the class index)
  double loss = 0;             // mean loss over the rows
};

// Predictions of a model on rows of a dataset, beside a run: OUT_DIR/scores.tsv (name + one
// column per task or class) and OUT_DIR/labels.tsv, in row order: the chosen model's test rows
// (the report draws its curves from them) or cross-validation's pooled held-out rows (`strand
// compare` pairs either with another run's scores by name).
void write_predictions(const std::string& out_dir, const ModelInfo& info,
                       const data::Dataset& dataset, const std::vector<int64_t>& rows,
                       const Predictions& predictions);

// Runs the model in eval mode, without gradients, over the dataset's rows in order.
Predictions predict_rows(layers::Module& model, const std::string& kind,
                         std::shared_ptr<const data::Dataset> dataset,
                         const std::vector<int64_t>& rows, int64_t batch_size,
                         const runtime::Device& device);

// The model itself, or (rc_average) wrapped in layers::ReverseComplementAverage so each prediction
// is the mean of both strands'.
std::shared_ptr<layers::Module> for_prediction(std::shared_ptr<layers::Module> model,
                                               bool rc_average);

// Scores of a model's raw outputs for u8 codes [N, L]: sigmoid, softmax or identity by kind.
std::vector<double> scores_of(const std::string& kind, const runtime::Tensor& logits);

// Rule 9: calibration fitted on a model's validation predictions and applied to its test
// predictions (rules::calibrate_on_valid: Platt per task, temperature for multi-class, ECE and
// reliability curves before and after, "recommended" judged on valid alone); null for
// regression. Stored in model_path's file (train::store_calibration) for `strand predict
// --calibrated`, unless model_path is empty or dp: the calibrator is fitted without DP noise,
// outside the model's guarantee. "stored": whether it was ("not_stored": why not).
nlohmann::json calibration_of(const ModelInfo& info, const Predictions& valid,
                              const Predictions& test, const std::string& model_path = "",
                              bool dp = false);

// The rules panel (binary_panel / multiclass_panel / regression_panel) plus "loss".
nlohmann::json panel_of(const ModelInfo& info, const Predictions& p, int bootstrap_replicates);

}  // namespace strand::train
