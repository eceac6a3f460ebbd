// Bootstrap: counts sum to n and depend only on (seed, replicate); intervals follow numpy's
// percentile; metrics undefined in most resamples get no interval.
#include "rules/bootstrap.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

TEST(Bootstrap, CountsSumToNAndAreSeeded) {
  const auto a = bootstrap_counts(1000, 42, 3);
  EXPECT_DOUBLE_EQ(std::accumulate(a.begin(), a.end(), 0.0), 1000.0);
  EXPECT_EQ(a, bootstrap_counts(1000, 42, 3));
  EXPECT_NE(a, bootstrap_counts(1000, 42, 4));
  EXPECT_NE(a, bootstrap_counts(1000, 43, 3));
  // About 1 - 1/e of the units appear in a replicate.
  const auto present = std::count_if(a.begin(), a.end(), [](double c) { return c > 0; });
  EXPECT_NEAR(present / 1000.0, 0.632, 0.05);
}

TEST(Bootstrap, PercentileIntervalInterpolatesLikeNumpy) {
  // numpy.percentile([1..5], 2.5) = 1.1, (97.5) = 4.9.
  const auto ci = percentile_interval({5, 1, 4, 2, 3}, 0.95);
  EXPECT_TRUE(ci.defined);
  EXPECT_NEAR(ci.lo, 1.1, 1e-12);
  EXPECT_NEAR(ci.hi, 4.9, 1e-12);
  EXPECT_FALSE(percentile_interval({}, 0.95).defined);
  try {
    percentile_interval({1.0}, 1.5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("confidence level must be in (0, 1)"));
  }
}

TEST(Bootstrap, IntervalOfTheMeanCoversTheTruthAndMostlyUndefinedHasNone) {
  std::vector<double> x(400);
  for (size_t i = 0; i < x.size(); ++i) x[i] = (i % 10) / 10.0;  // mean 0.45
  ReplicateFn fn = [&](std::span<const double> w) {
    double s = 0, t = 0, rare = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      s += w[i] * x[i];
      t += w[i];
      rare += i == 0 ? w[i] : 0;
    }
    return NamedValues{{"mean", MetricValue::of(s / t)},
                       {"rare", rare > 1 ? MetricValue::of(1) : MetricValue::undefined("absent")}};
  };
  BootstrapOptions opt;
  opt.replicates = 300;
  opt.seed = 5;
  const auto ci = bootstrap_intervals(static_cast<int64_t>(x.size()), fn, opt);
  EXPECT_LT(ci.at("mean").lo, 0.45);
  EXPECT_GT(ci.at("mean").hi, 0.45);
  EXPECT_LT(ci.at("mean").hi - ci.at("mean").lo, 0.1);
  // Unit 0 is drawn twice or more in only ~26% of replicates.
  EXPECT_FALSE(ci.at("rare").defined);
  EXPECT_THAT(ci.at("rare").reason, HasSubstr("undefined in"));
  const auto again = bootstrap_intervals(static_cast<int64_t>(x.size()), fn, opt);
  EXPECT_EQ(again.at("mean").lo, ci.at("mean").lo);
}

}  // namespace
}  // namespace strand::rules
