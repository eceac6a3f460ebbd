// The learning curve: nested, stratified training subsets, and a curve scored on valid only.
#include "train/learning_curve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "tests/train/tiny_task.h"

namespace strand::train {
namespace {

TEST(LearningCurve, SubsetsNestAndKeepTheClassBalance) {
  const auto splits = testing::tiny_task(60, 400);
  const auto small = training_subset(*splits, 0.25, 1);
  const auto large = training_subset(*splits, 0.5, 1);
  const auto all = training_subset(*splits, 1.0, 1);
  EXPECT_EQ(all, splits->train());
  EXPECT_TRUE(std::includes(large.begin(), large.end(), small.begin(), small.end()));
  EXPECT_NEAR(static_cast<double>(small.size()), 0.25 * splits->train().size(), 3);
  const auto positives = [&](const std::vector<int64_t>& rows, int task) {
    double n = 0;
    for (int64_t r : rows) n += splits->dataset().labels(r)[task] > 0.5f;
    return n / rows.size();
  };
  // Stratified by the rarest task: its prevalence is the same in the subset.
  const int rare = positives(all, 0) < positives(all, 1) ? 0 : 1;
  EXPECT_NEAR(positives(small, rare), positives(all, rare), 0.02);
  EXPECT_THROW(training_subset(*splits, 0, 1), Error);
}

TEST(LearningCurve, ScoresEachFractionOnValidAndLeavesTestSealed) {
  const auto splits = testing::tiny_task(60, 300);
  TrainConfig config = testing::tiny_config();
  config.model = "cnn-small";
  LearningCurveOptions o;
  o.fractions = {0.3, 1.0};
  const auto curve = learning_curve(*splits, config, o);
  EXPECT_FALSE(splits->test_unsealed());
  ASSERT_EQ(curve["points"].size(), 2u);
  EXPECT_LT(curve["points"][0]["train_rows"].get<size_t>(),
            curve["points"][1]["train_rows"].get<size_t>());
  EXPECT_EQ(curve["points"][1]["train_rows"].get<size_t>(), splits->train().size());
  EXPECT_TRUE(curve["points"][1]["valid"].is_number());
  const std::string verdict = curve["verdict"];
  EXPECT_TRUE(verdict == "rising" || verdict == "flat" || verdict == "falling") << verdict;
  EXPECT_THAT(curve["sentence"].get<std::string>(), ::testing::HasSubstr("30% to 100%"));
}

}  // namespace
}  // namespace strand::train
