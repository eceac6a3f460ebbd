// Metric panels: the JSON layout, values equal to the metric functions, undefined metrics as null
// with a reason, missing labels, macro/micro averages and seeded intervals.
#include "rules/panel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "rules/metrics.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

PanelOptions small_options() {
  PanelOptions o;
  o.bootstrap.replicates = 200;
  o.bootstrap.seed = 3;
  return o;
}

TEST(Panel, BinaryLayoutValuesAndIntervals) {
  // Two tasks, 10 rows; task b has one missing label and a single class among the rest.
  const std::vector<int> y = {0, 0, 1, 1, 0, 1, 0, 1, 1, 0};
  const std::vector<double> s = {0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.35, 0.6, 0.7};
  std::vector<double> labels, scores;
  for (size_t i = 0; i < y.size(); ++i) {
    labels.push_back(y[i]);
    labels.push_back(i == 0 ? NAN : 1.0);
    scores.push_back(s[i]);
    scores.push_back(s[i]);
  }
  const auto j = binary_panel({"a", "b"}, labels, scores, small_options());
  EXPECT_EQ(j["kind"], "binary");
  const auto& a = j["tasks"]["a"];
  EXPECT_NEAR(a["auroc"].get<double>(), 0.72, 1e-12);
  EXPECT_NEAR(a["auprc"].get<double>(), 0.8, 1e-12);
  EXPECT_NEAR(a["prevalence"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(a["mcc"].get<double>(), 0.408248290463863, 1e-12);
  EXPECT_EQ(a["ci"]["auroc"].size(), 2u);
  EXPECT_LE(a["ci"]["auroc"][0].get<double>(), 0.72);
  EXPECT_GE(a["ci"]["auroc"][1].get<double>(), 0.72);
  EXPECT_FALSE(a["reliability"].empty());
  const auto& b = j["tasks"]["b"];
  EXPECT_EQ(b["n"].get<double>(), 9.0);
  EXPECT_TRUE(b["auroc"].is_null());
  EXPECT_THAT(b["undefined"]["auroc"].get<std::string>(), HasSubstr("no negative"));
  EXPECT_TRUE(b["ci"]["auroc"].is_null());
  // Macro averages the defined task values only.
  EXPECT_NEAR(j["macro"]["auroc"].get<double>(), 0.72, 1e-12);
  EXPECT_TRUE(j["micro"]["auroc"].is_number());
  EXPECT_EQ(j["bootstrap"]["unit"], "name");
  EXPECT_EQ(binary_panel({"a", "b"}, labels, scores, small_options()).dump(), j.dump());
}

TEST(Panel, BinaryBadInputRaises) {
  const std::vector<double> labels = {0, 1, 2}, scores = {0.1, 0.2, 0.3};
  try {
    binary_panel({"t"}, labels, scores, small_options());
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("label 2 at row 2 is not 0 or 1"));
  }
  const std::vector<double> l2 = {0, 1}, s2 = {0.1, NAN};
  try {
    binary_panel({"t"}, l2, s2, small_options());
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("score at row 1 is NaN"));
  }
}

TEST(Panel, MultiClassTopLevelKeys) {
  const std::vector<int> y = {0, 1, 2, 2, 1, 0, 2, 1};
  const std::vector<double> p = {0.7, 0.2, 0.1, 0.3, 0.4, 0.3, 0.2, 0.3, 0.5, 0.1, 0.6, 0.3,
                                 0.4, 0.4, 0.2, 0.5, 0.1, 0.4, 0.3, 0.3, 0.4, 0.2, 0.5, 0.3};
  const auto j = multiclass_panel({"x", "y", "z"}, y, p, small_options());
  EXPECT_NEAR(j["accuracy"].get<double>(), 0.75, 1e-12);
  EXPECT_NEAR(j["macro_auroc"].get<double>(), 0.8777777777777778, 1e-12);
  EXPECT_NEAR(j["log_loss"].get<double>(), 0.7986201856958712, 1e-12);
  EXPECT_TRUE(j["ci"].contains("accuracy"));
  EXPECT_EQ(j["class_counts"]["z"].get<double>(), 3.0);
}

TEST(Panel, RegressionPerTaskAndMacro) {
  const std::vector<double> y = {1.0, 2.0, 2.0, 3.5, 0.5, 4.0, 3.5};
  const std::vector<double> p = {1.2, 1.9, 2.5, 3.0, 1.0, 3.0, 4.5};
  const auto j = regression_panel({"r"}, y, p, small_options());
  EXPECT_NEAR(j["tasks"]["r"]["spearman"].get<double>(), 0.9082951062292476, 1e-12);
  EXPECT_NEAR(j["macro"]["mse"].get<double>(), 0.4, 1e-12);
  EXPECT_TRUE(j["tasks"]["r"]["ci"].contains("pearson"));
}

}  // namespace
}  // namespace strand::rules
