// Metrics against hand-computed cases and scikit-learn 1.9.1 / scipy 1.17.1 values printed by
// tests/rules/fixtures/make_metric_fixtures.py (the same inputs appear there).
#include "rules/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

constexpr double kTol = 1e-12;

const std::vector<int> kY = {0, 0, 1, 1, 0, 1, 0, 1, 1, 0};
const std::vector<double> kS = {0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.35, 0.6, 0.7};
const std::vector<double> kW = {1, 2, 0, 1, 3, 1, 1, 2, 1, 1};

double value(const MetricValue& v) {
  EXPECT_TRUE(v.defined) << v.reason;
  return v.value;
}

TEST(Metrics, HandComputedAurocAndAveragePrecisionWithTies) {
  // Positives 0.2 and 0.9, negatives 0.2 and 0.1: pairs won 1 + 1 + 1 + 0.5 (tie) of 4.
  const std::vector<int> y = {0, 1, 0, 1};
  const std::vector<double> s = {0.2, 0.2, 0.1, 0.9};
  EXPECT_NEAR(value(roc_auc(y, s)), 3.5 / 4, kTol);
  // Thresholds 0.9 (P = 1, R = 1/2) and 0.2 (P = 2/3, R = 1): AP = 1/2 * 1 + 1/2 * 2/3.
  EXPECT_NEAR(value(average_precision(y, s)), 0.5 + 0.5 * 2.0 / 3.0, kTol);
}

TEST(Metrics, BinaryMatchesScikitLearn) {
  EXPECT_NEAR(value(roc_auc(kY, kS)), 0.72, kTol);
  EXPECT_NEAR(value(average_precision(kY, kS)), 0.8, kTol);
  EXPECT_NEAR(value(roc_auc(kY, kS, kW)), 0.675, kTol);
  EXPECT_NEAR(value(average_precision(kY, kS, kW)), 0.7318181818181819, kTol);
  const auto c = confusion_at(kY, kS, 0.5);
  EXPECT_NEAR(value(matthews(c)), 0.408248290463863, kTol);
  EXPECT_NEAR(value(f1(c)), 0.6666666666666666, kTol);
  EXPECT_NEAR(value(precision(c)), 0.75, kTol);
  EXPECT_NEAR(value(recall(c)), 0.6, kTol);
  EXPECT_NEAR(value(balanced_accuracy(c)), 0.7, kTol);
  EXPECT_NEAR(value(brier(kY, kS)), 0.19150000000000003, kTol);
  EXPECT_NEAR(value(brier(kY, kS, kW)), 0.18423076923076923, kTol);
}

TEST(Metrics, CalibrationCurveAndEceMatchScikitLearnBinning) {
  std::vector<ReliabilityBin> curve;
  EXPECT_NEAR(value(expected_calibration_error(kY, kS, 5, {}, &curve)), 0.18, kTol);
  const std::vector<double> frac = {0.0, 0.5, 1.0, 0.5, 1.0};
  const std::vector<double> mean = {0.15, 0.375, 0.6, 0.75, 0.9};
  ASSERT_EQ(curve.size(), 5u);
  for (size_t b = 0; b < 5; ++b) {
    EXPECT_NEAR(curve[b].fraction_positive, frac[b], kTol) << b;
    EXPECT_NEAR(curve[b].mean_score, mean[b], kTol) << b;
  }
  // 0.4 sits on an edge and belongs to the lower bin (0.2, 0.4], as in scikit-learn.
  EXPECT_DOUBLE_EQ(curve[1].count, 4.0);
}

TEST(Metrics, F1OptimalThresholdMatchesBruteForce) {
  const auto order = order_by_score_descending(kS);
  const auto opt = f1_optimal(kY, kS, order, {});
  EXPECT_NEAR(value(opt.f1), 0.7692307692307693, kTol);
  EXPECT_DOUBLE_EQ(value(opt.threshold), 0.35);
  EXPECT_NEAR(value(opt.recall), 1.0, kTol);
  EXPECT_NEAR(value(opt.precision), 5.0 / 8.0, kTol);
}

TEST(Metrics, OneClassIsUndefinedNotANumber) {
  const std::vector<int> y = {1, 1, 1};
  const std::vector<double> s = {0.2, 0.5, 0.9};
  const auto auc = roc_auc(y, s);
  EXPECT_FALSE(auc.defined);
  EXPECT_THAT(auc.reason, HasSubstr("no negative"));
  const auto c = confusion_at(y, s, 0.5);
  EXPECT_FALSE(matthews(c).defined);
  EXPECT_FALSE(balanced_accuracy(c).defined);
  EXPECT_TRUE(recall(c).defined);
  const std::vector<int> neg = {0, 0};
  const std::vector<double> s2 = {0.1, 0.2};
  EXPECT_THAT(average_precision(neg, s2).reason, HasSubstr("no positive"));
  EXPECT_THAT(precision(confusion_at(neg, s2, 0.5)).reason, HasSubstr("no predicted positives"));
}

TEST(Metrics, ConstantPredictionsGiveZeroMccAsScikitLearn) {
  const std::vector<int> y = {0, 1, 0, 1};
  const std::vector<double> s = {0.1, 0.2, 0.3, 0.4};
  EXPECT_DOUBLE_EQ(value(matthews(confusion_at(y, s, 0.9))), 0.0);
}

TEST(Metrics, ScoresOutsideUnitIntervalMakeCalibrationUndefined) {
  const std::vector<int> y = {0, 1};
  const std::vector<double> s = {-1.0, 2.0};
  EXPECT_THAT(brier(y, s).reason, HasSubstr("[0, 1]"));
  EXPECT_FALSE(expected_calibration_error(y, s, 10).defined);
  EXPECT_NEAR(value(roc_auc(y, s)), 1.0, kTol);
}

TEST(Metrics, BadInputRaises) {
  const std::vector<int> y = {0, 2};
  const std::vector<double> s = {0.1, 0.2};
  try {
    roc_auc(y, s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("label 2 at row 1 is not 0 or 1"));
  }
  const std::vector<int> y2 = {0, 1};
  const std::vector<double> nan = {0.1, std::nan("")};
  try {
    roc_auc(y2, nan);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("score at row 1 is NaN"));
  }
  const std::vector<double> short_s = {0.1};
  try {
    roc_auc(y2, short_s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("2 labels but 1 scores"));
  }
}

const std::vector<int> kYc = {0, 1, 2, 2, 1, 0, 2, 1};
const std::vector<double> kP = {0.7, 0.2, 0.1, 0.3, 0.4, 0.3, 0.2, 0.3, 0.5, 0.1, 0.6, 0.3,
                                0.4, 0.4, 0.2, 0.5, 0.1, 0.4, 0.3, 0.3, 0.4, 0.2, 0.5, 0.3};

TEST(Metrics, MultiClassMatchesScikitLearn) {
  EXPECT_NEAR(value(multiclass_accuracy(kYc, kP, 3)), 0.75, kTol);
  EXPECT_NEAR(value(multiclass_balanced_accuracy(kYc, kP, 3)), 0.7777777777777777, kTol);
  EXPECT_NEAR(value(multiclass_matthews(kYc, kP, 3)), 0.6428571428571429, kTol);
  EXPECT_NEAR(value(multiclass_macro_auroc(kYc, kP, 3)), 0.8777777777777778, kTol);
  EXPECT_NEAR(value(multiclass_log_loss(kYc, kP, 3)), 0.7986201856958712, kTol);
  // Row 4 ties classes 0 and 1: numpy's argmax takes the first.
  EXPECT_EQ(argmax_rows(kP, 3)[4], 0);
}

TEST(Metrics, MultiClassMissingClassMakesAurocUndefined) {
  const std::vector<int> y = {0, 1, 0, 1};
  const std::vector<double> p = {0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1, 0.3, 0.6, 0.1};
  const auto auc = multiclass_macro_auroc(y, p, 3);
  EXPECT_FALSE(auc.defined);
  EXPECT_THAT(auc.reason, HasSubstr("class 2"));
  EXPECT_TRUE(multiclass_accuracy(y, p, 3).defined);
}

TEST(Metrics, RegressionMatchesScipy) {
  const std::vector<double> y = {1.0, 2.0, 2.0, 3.5, 0.5, 4.0, 3.5};
  const std::vector<double> p = {1.2, 1.9, 2.5, 3.0, 1.0, 3.0, 4.5};
  EXPECT_NEAR(value(pearson(y, p)), 0.8648784603824705, kTol);
  EXPECT_NEAR(value(spearman(y, p)), 0.9082951062292476, kTol);
  EXPECT_NEAR(value(mean_squared_error(y, p)), 0.39999999999999997, kTol);
  const std::vector<double> flat = {1, 1, 1, 1, 1, 1, 1};
  EXPECT_THAT(pearson(y, flat).reason, HasSubstr("constant"));
}

TEST(Metrics, AverageRanksShareTiesAndHonourWeights) {
  const std::vector<double> v = {3, 1, 3, 2};
  EXPECT_EQ(average_ranks(v), (std::vector<double>{3.5, 1, 3.5, 2}));
  // A weight of 2 replicates the sample: ranks 1..2 for value 1, then 3, then 4..5.
  const std::vector<double> w = {1, 2, 1, 1};
  EXPECT_EQ(average_ranks(v, w), (std::vector<double>{4.5, 1.5, 4.5, 3}));
}

TEST(Metrics, IntegerWeightsEqualReplication) {
  std::vector<int> y;
  std::vector<double> s;
  for (size_t i = 0; i < kY.size(); ++i)
    for (int k = 0; k < kW[i]; ++k) {
      y.push_back(kY[i]);
      s.push_back(kS[i]);
    }
  EXPECT_NEAR(value(roc_auc(y, s)), value(roc_auc(kY, kS, kW)), kTol);
  EXPECT_NEAR(value(average_precision(y, s)), value(average_precision(kY, kS, kW)), kTol);
  EXPECT_NEAR(value(expected_calibration_error(y, s, 10)),
              value(expected_calibration_error(kY, kS, 10, kW)), kTol);
}

}  // namespace
}  // namespace strand::rules
