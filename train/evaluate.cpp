// Batched evaluation through data::BatchLoader and the rules panels.
#include "train/evaluate.h"

#include <cmath>

#include "core/error.h"
#include "data/loader.h"
#include "layers/reverse_complement.h"
#include "rules/calibration.h"
#include "rules/io.h"
#include "rules/panel.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"

namespace strand::train {

namespace {

// BCE with logits over the labels that exist: NaN labels (missing) are masked out and the mean
// runs over the rest; a batch with no label at all gives 0 (and zero gradients).
runtime::Tensor masked_bce_with_logits(const runtime::Tensor& logits,
                                       const runtime::Tensor& labels) {
  // The labels are a small [N, tasks] tensor: finding the missing ones on the host is cheap.
  std::vector<double> y = labels.cpu().to(DType::kF64).to_vector<double>();
  std::vector<double> mask(y.size(), 1.0);
  double present = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (std::isnan(y[i])) {
      mask[i] = 0.0;
      y[i] = 0.0;
    }
    present += mask[i];
  }
  if (present == static_cast<double>(y.size()))
    return runtime::binary_cross_entropy_with_logits(logits, labels);
  if (present == 0) return runtime::sum(logits * 0.0);
  const runtime::TensorOptions o{.dtype = logits.dtype(), .device = logits.device()};
  const Tensor m = runtime::from_vector(mask, labels.shape()).to(o.dtype).to(o.device);
  const Tensor clean = runtime::from_vector(y, labels.shape()).to(o.dtype).to(o.device);
  const Tensor each =
      runtime::binary_cross_entropy_with_logits(logits, clean, Tensor(), runtime::Reduction::kNone);
  return runtime::sum(each * m) / present;
}

}  // namespace

runtime::Tensor loss_for(const std::string& kind, const runtime::Tensor& logits,
                         const runtime::Tensor& labels) {
  if (kind == "binary" || kind == "multi-label") return masked_bce_with_logits(logits, labels);
  if (kind == "multi-class")
    return runtime::cross_entropy(logits, labels.reshape({-1}).to(DType::kI64));
  if (kind == "regression") return runtime::mse_loss(logits, labels);
  STRAND_FAIL("no loss for label kind '{}' (binary, multi-label, multi-class, regression)", kind);
}

std::shared_ptr<layers::Module> for_prediction(std::shared_ptr<layers::Module> model,
                                               bool rc_average) {
  if (!rc_average) return model;
  return std::make_shared<layers::ReverseComplementAverage>(std::move(model));
}

std::vector<double> scores_of(const std::string& kind, const runtime::Tensor& logits) {
  runtime::Tensor s = logits;
  if (kind == "binary" || kind == "multi-label")
    s = runtime::sigmoid(logits);
  else if (kind == "multi-class")
    s = runtime::softmax(logits, 1);
  return s.to_vector<double>();
}

Predictions predict_rows(layers::Module& model, const std::string& kind,
                         std::shared_ptr<const data::Dataset> dataset,
                         const std::vector<int64_t>& rows, int64_t batch_size,
                         const runtime::Device& device) {
  STRAND_CHECK(!rows.empty(), "nothing to evaluate: no rows");
  const bool was_training = model.is_training();
  model.eval();
  runtime::NoGradGuard no_grad;
  data::LoaderOptions o;
  o.batch_size = batch_size;
  o.shuffle = false;
  o.device = device;
  data::BatchLoader loader(dataset, rows, o);
  loader.start_epoch(0);
  Predictions p;
  p.rows = static_cast<int64_t>(rows.size());
  double loss_sum = 0;
  while (auto batch = loader.next()) {
    const runtime::Tensor logits = model(batch->codes);
    STRAND_CHECK(logits.dim() == 2 && logits.size(0) == batch->size,
                 "model output has shape {}, expected [{}, outputs]",
                 runtime::shape_str(logits.shape()), batch->size);
    p.outputs = logits.size(1);
    loss_sum += loss_for(kind, logits, batch->labels).item() * static_cast<double>(batch->size);
    const auto s = scores_of(kind, logits);
    p.scores.insert(p.scores.end(), s.begin(), s.end());
    const auto l = batch->labels.to_vector<double>();
    p.labels.insert(p.labels.end(), l.begin(), l.end());
  }
  p.loss = loss_sum / static_cast<double>(p.rows);
  model.train(was_training);
  return p;
}

nlohmann::json panel_of(const ModelInfo& info, const Predictions& p, int bootstrap_replicates) {
  rules::PanelOptions o;
  o.bootstrap.replicates = bootstrap_replicates;
  nlohmann::json panel;
  if (info.kind == "multi-class") {
    std::vector<int> y(p.labels.begin(), p.labels.end());
    panel = rules::multiclass_panel(info.tasks, y, p.scores, o);
  } else if (info.kind == "regression") {
    panel = rules::regression_panel(info.tasks, p.labels, p.scores, o);
  } else {
    panel = rules::binary_panel(info.tasks, p.labels, p.scores, o);
  }
  panel["loss"] = p.loss;
  return panel;
}

void write_predictions(const std::string& out_dir, const ModelInfo& info,
                       const data::Dataset& dataset, const std::vector<int64_t>& rows,
                       const Predictions& predictions) {
  std::vector<std::string> names;
  names.reserve(rows.size());
  for (int64_t row : rows) names.push_back(dataset.name(row));
  const rules::TaskKind kind = rules::task_kind_of(data::parse_label_kind(info.kind));
  const bool multi_class = info.kind == "multi-class";
  rules::write_scores(out_dir + "/scores.tsv", names, info.tasks, predictions.scores);
  // Multi-class: one label column of class names (the model's outputs are the classes).
  rules::write_labels(out_dir + "/labels.tsv", names, kind,
                      multi_class ? std::vector<std::string>{"class"} : info.tasks,
                      multi_class ? info.tasks : std::vector<std::string>{}, predictions.labels);
}

nlohmann::json calibration_of(const ModelInfo& info, const Predictions& valid,
                              const Predictions& test, const std::string& model_path, bool dp) {
  if (info.kind == "regression") return nullptr;
  nlohmann::json out = rules::calibrate_on_valid(info.task_kind(), info.tasks, valid.labels,
                                                 valid.scores, test.labels, test.scores);
  const bool store = !model_path.empty() && !dp;
  if (store) store_calibration(model_path, out);
  out["stored"] = store;
  if (!store) out["not_stored"] = dp ? "fitted without DP noise" : "no model file given";
  return out;
}

}  // namespace strand::train
