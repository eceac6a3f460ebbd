// Losses per label kind, scores, batched prediction and panels of a model on dataset rows.
#include "train/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "layers/models.h"
#include "runtime/gradcheck.h"
#include "runtime/rng.h"
#include "tests/train/tiny_task.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;

TEST(LossFor, MatchesTheFormulaOfEachKind) {
  const Tensor logits = runtime::from_vector<float>({0.5f, -1.0f, 2.0f, 0.0f}, {2, 2});
  // BCE with logits: mean of log(1 + e^x) - y x.
  const Tensor y = runtime::from_vector<float>({1, 0, 0, 1}, {2, 2});
  double bce = 0;
  const double x[] = {0.5, -1.0, 2.0, 0.0}, t[] = {1, 0, 0, 1};
  for (int i = 0; i < 4; ++i) bce += std::log1p(std::exp(x[i])) - t[i] * x[i];
  EXPECT_NEAR(loss_for("multi-label", logits, y).item(), bce / 4, 1e-6);
  // Cross-entropy on class indices stored as floats [N, 1].
  const Tensor cls = runtime::from_vector<float>({1, 0}, {2, 1});
  const double ce = 0.5 * ((std::log(std::exp(0.5) + std::exp(-1.0)) + 1.0) +
                           (std::log(std::exp(2.0) + 1.0) - 2.0));
  EXPECT_NEAR(loss_for("multi-class", logits, cls).item(), ce, 1e-6);
  EXPECT_NEAR(loss_for("regression", logits, y).item(), (0.25 + 1.0 + 4.0 + 1.0) / 4, 1e-6);
  EXPECT_THAT([&] { loss_for("ranking", logits, y); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no loss for label kind 'ranking'")));
}

// BCE of only the entries whose label is not NaN, as a plain formula.
double bce_present(const std::vector<double>& x, const std::vector<double>& y) {
  double sum = 0;
  int n = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(y[i])) continue;
    sum += std::log1p(std::exp(x[i])) - y[i] * x[i];
    ++n;
  }
  return sum / n;
}

TEST(LossFor, MissingLabelsAreMaskedOutOfTheLoss) {
  const double nan = std::nan("");
  const std::vector<double> x = {0.5, -1.0, 2.0, 0.0, 1.5, -0.25};
  const std::vector<double> y = {1, nan, 0, nan, nan, 1};
  const Tensor logits = runtime::from_vector(x, {3, 2});
  const Tensor labels = runtime::from_vector(y, {3, 2});
  for (const char* kind : {"binary", "multi-label"})
    EXPECT_NEAR(loss_for(kind, logits, labels).item(), bce_present(x, y), 1e-12) << kind;
  // The same as dropping those entries: BCE over the present (logit, label) pairs alone.
  const Tensor kept_x = runtime::from_vector<double>({0.5, 2.0, -0.25}, {3, 1});
  const Tensor kept_y = runtime::from_vector<double>({1, 0, 1}, {3, 1});
  EXPECT_NEAR(loss_for("multi-label", logits, labels).item(),
              loss_for("multi-label", kept_x, kept_y).item(), 1e-12);
  // f32 labels (what the loader gives) too.
  EXPECT_NEAR(loss_for("multi-label", logits.to(DType::kF32), labels.to(DType::kF32)).item(),
              bce_present(x, y), 1e-6);

  // Gradients by finite differences, and zero gradient where the label is missing.
  Tensor leaf = logits.clone();
  leaf.set_requires_grad(true);
  const auto check = runtime::gradcheck(
      [&](const std::vector<Tensor>& in) { return loss_for("multi-label", in[0], labels); },
      {leaf});
  EXPECT_TRUE(check.ok) << check.report;
  const Tensor loss = loss_for("multi-label", leaf, labels);
  loss.backward();
  const auto g = leaf.grad().to_vector<double>();
  for (size_t i = 0; i < y.size(); ++i) {
    if (std::isnan(y[i]))
      EXPECT_EQ(g[i], 0.0) << i;
    else
      EXPECT_NE(g[i], 0.0) << i;
  }
  // A batch with no label at all: zero loss, zero gradient, no NaN.
  Tensor all_missing = logits.clone();
  all_missing.set_requires_grad(true);
  const Tensor none = loss_for("binary", all_missing,
                               runtime::from_vector<double>(std::vector<double>(6, nan), {3, 2}));
  EXPECT_EQ(none.item(), 0.0);
  none.backward();
  for (double v : all_missing.grad().to_vector<double>()) EXPECT_EQ(v, 0.0);
}

TEST(PanelOf, MissingLabelsAreSkippedPerTask) {
  const double nan = std::nan("");
  ModelInfo info{
      .name = "cnn", .length = 10, .outputs = 2, .kind = "multi-label", .tasks = {"a", "b"}};
  Predictions p;
  p.rows = 6;
  p.outputs = 2;
  p.labels = {1, 0, 0, nan, 1, 1, nan, 0, 0, 1, 1, nan};
  p.scores = {0.9, 0.2, 0.3, 0.99, 0.6, 0.7, 0.01, 0.4, 0.4, 0.1, 0.8, 0.5};
  const auto panel = panel_of(info, p, 0);
  // Each task's metrics equal a one-task panel of that task's labelled rows alone.
  for (int t = 0; t < 2; ++t) {
    ModelInfo one = info;
    one.tasks = {info.tasks[t]};
    one.outputs = 1;
    Predictions kept;
    for (int64_t i = 0; i < p.rows; ++i) {
      if (std::isnan(p.labels[i * 2 + t])) continue;
      kept.labels.push_back(p.labels[i * 2 + t]);
      kept.scores.push_back(p.scores[i * 2 + t]);
    }
    kept.rows = static_cast<int64_t>(kept.labels.size());
    kept.outputs = 1;
    const auto alone = panel_of(one, kept, 0);
    const auto& task = panel["tasks"][info.tasks[t]];
    const auto& expected = alone["tasks"][info.tasks[t]];
    EXPECT_EQ(task["n"].get<double>(), static_cast<double>(kept.rows)) << t;
    EXPECT_LT(kept.rows, p.rows);
    for (const char* m : {"auroc", "auprc", "brier"})
      EXPECT_NEAR(task[m].get<double>(), expected[m].get<double>(), 1e-12) << t << " " << m;
  }
}

TEST(ScoresOf, SigmoidSoftmaxOrIdentity) {
  const Tensor logits = runtime::from_vector<float>({0.0f, std::log(3.0f)}, {1, 2});
  const auto s = scores_of("binary", logits);
  EXPECT_NEAR(s[0], 0.5, 1e-6);
  EXPECT_NEAR(s[1], 0.75, 1e-6);
  const auto p = scores_of("multi-class", logits);
  EXPECT_NEAR(p[0], 0.25, 1e-6);
  EXPECT_NEAR(p[1], 0.75, 1e-6);
  EXPECT_NEAR(scores_of("regression", logits)[1], std::log(3.0), 1e-6);
}

TEST(PredictRows, RowsInOrderAndAPanelWithLoss) {
  const auto splits = testing::tiny_task(60, 200);
  runtime::manual_seed(1);
  auto model = layers::build_model("cnn", 60, 2);
  const auto& rows = splits->valid();
  const Predictions p = predict_rows(*model, "multi-label", splits->shared_dataset(), rows, 16,
                                     runtime::Device::cpu());
  ASSERT_EQ(p.rows, static_cast<int64_t>(rows.size()));
  ASSERT_EQ(p.scores.size(), rows.size() * 2);
  for (size_t i = 0; i < rows.size(); ++i)
    for (int t = 0; t < 2; ++t)
      EXPECT_EQ(p.labels[i * 2 + t], splits->dataset().labels(rows[i])[t]);
  EXPECT_TRUE(model->is_training());  // restored after evaluation
  const ModelInfo info{.name = "cnn",
                       .length = 60,
                       .outputs = 2,
                       .kind = "multi-label",
                       .tasks = {"ctcf", "sp1_and_creb"}};
  const auto panel = panel_of(info, p, 0);
  EXPECT_EQ(panel["kind"], "binary");
  EXPECT_DOUBLE_EQ(panel["loss"].get<double>(), p.loss);
  EXPECT_TRUE(panel["tasks"].contains("ctcf"));
  EXPECT_TRUE(panel["macro"].contains("auroc"));
}

}  // namespace
}  // namespace strand::train
