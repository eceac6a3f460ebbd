#include "rules/curves.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace strand::rules {
namespace {

TEST(Curves, PerfectAndReversedRankings) {
  const std::vector<int> y = {1, 1, 0, 0};
  const BootstrapOptions none{0, 1, 0.95};
  const Curve perfect = roc_curve(y, std::vector<double>{0.9, 0.8, 0.2, 0.1}, none, 5);
  EXPECT_EQ(perfect.y, (std::vector<double>{1, 1, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(perfect.area, 1.0);
  const Curve reversed = roc_curve(y, std::vector<double>{0.1, 0.2, 0.8, 0.9}, none, 5);
  EXPECT_EQ(reversed.y, (std::vector<double>{0, 0, 0, 0, 1}));
  const Curve pr = precision_recall_curve(y, std::vector<double>{0.9, 0.8, 0.2, 0.1}, none, 3);
  EXPECT_EQ(pr.y, (std::vector<double>{1, 1, 1}));
  EXPECT_DOUBLE_EQ(pr.prevalence, 0.5);
}

TEST(Curves, TiesMoveTogetherAndInterpolate) {
  // Scores tied across a positive and a negative: the ROC goes diagonally through (0.5, 0.5).
  const std::vector<int> y = {1, 0, 1, 0};
  const Curve roc = roc_curve(y, std::vector<double>{0.9, 0.5, 0.5, 0.1}, {0, 1, 0.95}, 5);
  // Corners: (0, 0.5) after 0.9, (0.5, 1) after the tie, (1, 1). At FPR 0.25: 0.75.
  EXPECT_DOUBLE_EQ(roc.y[0], 0.5);
  EXPECT_DOUBLE_EQ(roc.y[1], 0.75);
  EXPECT_DOUBLE_EQ(roc.y[2], 1.0);
  EXPECT_DOUBLE_EQ(roc.area, 0.875);
  // Interpolated precision: the best precision at recall >= r; at recall 1 it is 2/3 (tie).
  const Curve pr =
      precision_recall_curve(y, std::vector<double>{0.9, 0.5, 0.5, 0.1}, {0, 1, 0.95}, 3);
  EXPECT_DOUBLE_EQ(pr.y[0], 1.0);
  EXPECT_DOUBLE_EQ(pr.y[1], 1.0);
  EXPECT_DOUBLE_EQ(pr.y[2], 2.0 / 3.0);
}

TEST(Curves, BootstrapBandsContainTheCurveAndWidenWithFewerExamples) {
  std::vector<int> y;
  std::vector<double> s;
  for (int i = 0; i < 400; ++i) {
    y.push_back(i % 2);
    s.push_back((i % 2) * 0.3 + ((i * 7919) % 1000) / 1000.0);  // overlapping classes
  }
  const Curve big = roc_curve(y, s, {200, 3, 0.95});
  ASSERT_EQ(big.lo.size(), big.x.size());
  double width_big = 0;
  for (size_t g = 0; g < big.x.size(); ++g) {
    EXPECT_LE(big.lo[g], big.y[g] + 1e-12);
    EXPECT_GE(big.hi[g], big.y[g] - 1e-12);
    width_big += big.hi[g] - big.lo[g];
  }
  const std::vector<int> y_small(y.begin(), y.begin() + 40);
  const std::vector<double> s_small(s.begin(), s.begin() + 40);
  const Curve small = roc_curve(y_small, s_small, {200, 3, 0.95});
  double width_small = 0;
  for (size_t g = 0; g < small.x.size(); ++g) width_small += small.hi[g] - small.lo[g];
  EXPECT_GT(width_small, 1.5 * width_big);
}

TEST(Curves, OneClassIsAnError) {
  EXPECT_THROW(roc_curve(std::vector<int>{1, 1}, std::vector<double>{0.2, 0.3}, {0, 1, 0.95}),
               Error);
  EXPECT_THROW(
      precision_recall_curve(std::vector<int>{0, 0}, std::vector<double>{0.2, 0.3}, {0, 1, 0.95}),
      Error);
}

}  // namespace
}  // namespace strand::rules
