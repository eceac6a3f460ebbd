// DeLong's test against pROC's published values on the aSAH data set: pROC's
// tests/testthat/test-roc.test.R expects roc.test(wfns, s100b) to give Z = 2.20898359144091,
// p = 0.0271757822291882, 95% CI [0.0104061769564846, 0.174214419249478] (and two more pairs).
// The data (Turck et al. 2010, shipped with pROC as aSAH) were extracted by
// tests/rules/fixtures/make_asah_fixture.py. The fast placements are also checked against the
// O(m n) definition of DeLong et al. (1988) on random scores with ties.
#include "rules/delong.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "rules/metrics.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

const std::vector<int> kOutcomePoor = {
    0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0,
    1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0,
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0};
const std::vector<double> kWfns = {
    1.0, 1.0, 1.0, 1.0, 3.0, 2.0, 5.0, 4.0, 1.0, 2.0, 5.0, 2.0, 5.0, 5.0, 1.0, 2.0, 5.0, 2.0, 2.0,
    5.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 2.0, 1.0, 1.0, 3.0, 4.0, 2.0, 1.0, 4.0, 5.0, 4.0, 1.0,
    4.0, 2.0, 5.0, 5.0, 1.0, 1.0, 2.0, 4.0, 1.0, 1.0, 2.0, 5.0, 5.0, 2.0, 1.0, 2.0, 5.0, 1.0, 2.0,
    2.0, 2.0, 1.0, 5.0, 1.0, 1.0, 2.0, 5.0, 2.0, 1.0, 4.0, 5.0, 2.0, 4.0, 4.0, 1.0, 4.0, 1.0, 2.0,
    1.0, 4.0, 2.0, 1.0, 2.0, 3.0, 2.0, 4.0, 2.0, 1.0, 4.0, 5.0, 1.0, 1.0, 5.0, 4.0, 2.0, 2.0, 1.0,
    1.0, 1.0, 3.0, 1.0, 2.0, 5.0, 2.0, 2.0, 5.0, 5.0, 5.0, 2.0, 4.0, 4.0, 5.0, 1.0, 1.0, 1.0};
const std::vector<double> kS100b = {
    0.13, 0.14, 0.1,  0.04, 0.13, 0.1,  0.47, 0.16, 0.18, 0.1,  0.12, 0.1,  0.44, 0.71, 0.04,
    0.08, 0.49, 0.04, 0.07, 0.33, 0.09, 0.09, 0.07, 0.11, 0.07, 0.17, 0.07, 0.11, 0.13, 0.19,
    0.05, 0.16, 0.41, 0.14, 0.34, 0.35, 0.48, 0.09, 0.96, 0.25, 0.5,  0.46, 0.16, 0.07, 0.43,
    0.45, 0.11, 0.08, 0.09, 0.86, 0.52, 0.08, 0.06, 0.13, 2.07, 0.1,  0.14, 0.15, 0.07, 0.06,
    0.77, 0.05, 0.09, 0.3,  0.03, 0.09, 0.04, 0.23, 0.7,  0.09, 0.27, 0.71, 0.08, 0.26, 0.08,
    0.16, 0.09, 0.13, 0.1,  0.08, 0.11, 0.33, 0.11, 0.28, 0.07, 0.1,  0.32, 0.22, 0.07, 0.05,
    0.24, 0.38, 0.1,  0.15, 0.08, 0.14, 0.1,  0.07, 0.04, 0.19, 0.56, 0.14, 0.58, 0.32, 0.82,
    0.74, 0.15, 0.47, 0.17, 0.44, 0.15, 0.5,  0.48};
const std::vector<double> kNdka = {
    3.01,  8.54,  8.09,   10.42, 17.4,  12.75, 6.0,   13.2,  15.54, 6.01,  15.96, 17.86, 5.18,
    8.9,   13.41, 20.75,  11.6,  16.11, 32.37, 54.82, 32.41, 49.94, 40.34, 9.47,  6.29,  12.53,
    6.54,  6.3,   80.3,   12.8,  9.8,   9.81,  9.85,  18.21, 5.03,  14.04, 21.93, 8.02,  7.42,
    8.38,  6.59,  9.63,   13.12, 7.96,  14.34, 41.43, 7.63,  7.06,  12.59, 13.56, 3.87,  9.44,
    7.66,  12.98, 419.19, 27.19, 22.27, 9.95,  21.22, 11.73, 10.4,  58.83, 6.39,  11.09, 12.22,
    13.67, 17.21, 22.63,  12.9,  9.7,   21.57, 8.23,  72.57, 15.54, 10.51, 10.6,  14.57, 5.19,
    9.63,  4.61,  21.48,  17.3,  12.71, 9.44,  11.07, 19.46, 10.83, 5.37,  11.97, 7.75,  9.83,
    10.55, 28.49, 8.53,   12.57, 12.9,  46.83, 11.68, 12.67, 9.01,  9.57,  34.06, 11.72, 14.26,
    47.61, 11.67, 24.58,  10.33, 13.87, 15.89, 22.43, 6.79,  13.45};

TEST(Delong, AurocsMatchPublishedAsahValues) {
  EXPECT_NEAR(delong_placements(kOutcomePoor, kWfns).auc, 0.823678861788618, 1e-12);
  EXPECT_NEAR(delong_placements(kOutcomePoor, kS100b).auc, 0.731368563685637, 1e-12);
  EXPECT_NEAR(delong_placements(kOutcomePoor, kNdka).auc, 0.611957994579946, 1e-12);
}

TEST(Delong, MatchesPublishedRocTestOnAsah) {
  const auto t1 = delong_test(kOutcomePoor, kWfns, kS100b);
  ASSERT_TRUE(t1.defined) << t1.reason;
  EXPECT_NEAR(t1.z, 2.20898359144091, 1e-9);
  EXPECT_NEAR(t1.p_value, 0.0271757822291882, 1e-10);
  EXPECT_NEAR(t1.ci_lo, 0.0104061769564846, 1e-10);
  EXPECT_NEAR(t1.ci_hi, 0.174214419249478, 1e-10);
  const auto t2 = delong_test(kOutcomePoor, kWfns, kNdka);
  EXPECT_NEAR(t2.z, 2.79777591868904, 1e-9);
  EXPECT_NEAR(t2.p_value, 0.00514557970691098, 1e-10);
  const auto t3 = delong_test(kOutcomePoor, kNdka, kS100b);
  EXPECT_NEAR(t3.z, -1.39077002573558, 1e-9);
  EXPECT_NEAR(t3.p_value, 0.164295175223054, 1e-10);
}

TEST(Delong, FastPlacementsEqualTheQuadraticDefinition) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> level(0, 9);  // few levels: many ties
  std::vector<int> y(200);
  std::vector<double> s(200);
  for (size_t i = 0; i < y.size(); ++i) {
    y[i] = rng() % 3 == 0;
    s[i] = level(rng) + 0.5 * y[i] * (rng() % 2);
  }
  const auto p = delong_placements(y, s);
  std::vector<double> pos, neg;
  for (size_t i = 0; i < y.size(); ++i) (y[i] ? pos : neg).push_back(s[i]);
  auto psi = [](double a, double b) { return a > b ? 1.0 : a == b ? 0.5 : 0.0; };
  for (size_t i = 0; i < pos.size(); ++i) {
    double v = 0;
    for (double b : neg) v += psi(pos[i], b);
    EXPECT_NEAR(p.positives[i], v / neg.size(), 1e-12);
  }
  for (size_t j = 0; j < neg.size(); ++j) {
    double v = 0;
    for (double a : pos) v += psi(a, neg[j]);
    EXPECT_NEAR(p.negatives[j], v / pos.size(), 1e-12);
  }
  EXPECT_NEAR(p.auc, roc_auc(y, s).value, 1e-12);
}

TEST(Delong, IdenticalClassifiersGiveZeroAndOneClassIsUndefined) {
  const auto same = delong_test(kOutcomePoor, kWfns, kWfns);
  EXPECT_TRUE(same.defined);
  EXPECT_EQ(same.z, 0.0);
  EXPECT_EQ(same.p_value, 1.0);
  const std::vector<int> y = {1, 1, 1};
  const std::vector<double> a = {0.1, 0.2, 0.3}, b = {0.3, 0.2, 0.1};
  const auto r = delong_test(y, a, b);
  EXPECT_FALSE(r.defined);
  EXPECT_THAT(r.reason, HasSubstr("one class"));
}

TEST(Delong, MismatchedInputsRaise) {
  const std::vector<int> y = {0, 1};
  const std::vector<double> a = {0.1, 0.2}, b = {0.3};
  try {
    delong_test(y, a, b);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("2 scores vs 1 scores"));
  }
}

}  // namespace
}  // namespace strand::rules
