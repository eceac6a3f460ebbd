// Losses per label kind, scores, batched prediction and panels of a model on dataset rows.
#include "train/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/error.h"
#include "layers/models.h"
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
