// The headline metric follows the data: AUPRC against prevalence under rare positives, AUROC
// otherwise; accuracy only for balanced classes.
#include "rules/headline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rules/panel.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

nlohmann::json binary(int n, int positives) {
  std::vector<double> y(n, 0), s(n, 0);
  for (int i = 0; i < n; ++i) {
    y[i] = i < positives ? 1 : 0;
    s[i] = (i < positives ? 0.6 : 0.4) + 0.001 * (i % 7);
  }
  PanelOptions o;
  o.bootstrap.replicates = 0;
  return binary_panel({"t"}, y, s, o);
}

TEST(Headline, RarePositivesLeadWithAuprcAndItsPrevalence) {
  const auto h = headline_of(binary(200, 6));
  EXPECT_EQ(h["metric"], "auprc");
  EXPECT_NEAR(h["chance"].get<double>(), 0.03, 1e-9);
  EXPECT_THAT(h["sentence"].get<std::string>(), HasSubstr("chance level of 0.0300"));
  EXPECT_THAT(h["why"].get<std::string>(), HasSubstr("rare"));
}

TEST(Headline, BalancedBinaryLeadsWithAuroc) {
  const auto h = headline_of(binary(200, 90));
  EXPECT_EQ(h["metric"], "auroc");
  EXPECT_EQ(h["chance"].get<double>(), 0.5);
  EXPECT_THAT(h["sentence"].get<std::string>(), HasSubstr("AUPRC"));
}

nlohmann::json multiclass(const std::vector<int>& counts) {
  std::vector<int> y;
  std::vector<double> p;
  for (int c = 0; c < static_cast<int>(counts.size()); ++c)
    for (int i = 0; i < counts[c]; ++i) {
      y.push_back(c);
      for (int k = 0; k < static_cast<int>(counts.size()); ++k) p.push_back(k == c ? 0.5 : 0.25);
    }
  PanelOptions o;
  o.bootstrap.replicates = 0;
  return multiclass_panel({"a", "b", "c"}, y, p, o);
}

TEST(Headline, AccuracyOnlyWithBalancedClasses) {
  EXPECT_EQ(headline_of(multiclass({30, 32, 29}))["metric"], "accuracy");
  const auto h = headline_of(multiclass({80, 10, 10}));
  EXPECT_EQ(h["metric"], "macro_auroc");
  EXPECT_THAT(h["sentence"].get<std::string>(), HasSubstr("majority class alone scores 0.8000"));
}

}  // namespace
}  // namespace strand::rules
