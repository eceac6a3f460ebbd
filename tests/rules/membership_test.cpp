// Membership-audit statistics: Clopper-Pearson bounds against published values, the epsilon
// bound's direction, attack summaries on separable and on identical score distributions, the
// LiRA calibration, per-example losses and confidences, and bad input.
#include "rules/membership.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

TEST(Membership, ClopperPearsonMatchesReferenceValues) {
  // R: binom.test(5, 10)$conf.int = [0.187086, 0.812914]; binom.test(0, 10) upper 0.3084971;
  // binom.test(10, 10) lower 0.6915029; binom.test(1, 1000) = [2.53e-05, 0.005558924].
  EXPECT_NEAR(clopper_pearson_lower(5, 10, 0.95), 0.187086, 1e-6);
  EXPECT_NEAR(clopper_pearson_upper(5, 10, 0.95), 0.812914, 1e-6);
  EXPECT_NEAR(clopper_pearson_upper(0, 10, 0.95), 0.3084971, 1e-6);
  EXPECT_NEAR(clopper_pearson_lower(10, 10, 0.95), 0.6915029, 1e-6);
  EXPECT_NEAR(clopper_pearson_lower(1, 1000, 0.95), 2.531749e-05, 1e-9);
  EXPECT_NEAR(clopper_pearson_upper(1, 1000, 0.95), 0.005558924, 1e-8);
  EXPECT_EQ(clopper_pearson_lower(0, 10, 0.95), 0.0);
  EXPECT_EQ(clopper_pearson_upper(10, 10, 0.95), 1.0);
}

TEST(Membership, EpsilonBoundGrowsWithEvidenceAndVanishesWithout) {
  // Half the members flagged, no non-member: ln((tpr_lo - delta) / fpr_hi).
  const double b = epsilon_lower_bound(500, 1000, 0, 1000, 1e-5, 0.95);
  const double expected = std::log((clopper_pearson_lower(500, 1000, 0.95) - 1e-5) /
                                   clopper_pearson_upper(0, 1000, 0.95));
  EXPECT_NEAR(b, expected, 1e-12);
  EXPECT_GT(b, 4.0);
  EXPECT_GT(epsilon_lower_bound(500, 1000, 0, 10000, 1e-5, 0.95), b);     // more non-members
  EXPECT_EQ(epsilon_lower_bound(100, 1000, 100, 1000, 1e-5, 0.95), 0.0);  // TPR = FPR
  // The mirrored test (few members missed) counts too.
  EXPECT_GT(epsilon_lower_bound(1000, 1000, 500, 1000, 1e-5, 0.95), 4.0);
}

TEST(Membership, SeparatedScoresGiveAClearAttack) {
  std::vector<double> in, out;
  for (int i = 0; i < 2000; ++i) {
    in.push_back(10 + i);
    out.push_back(-i);
  }
  const AttackResult r = evaluate_attack("t", "m", in, out);
  EXPECT_DOUBLE_EQ(r.auroc, 1.0);
  ASSERT_EQ(r.at_fpr.size(), 2u);
  EXPECT_EQ(r.at_fpr[0].target_fpr, 0.001);
  EXPECT_TRUE(r.at_fpr[0].supported);  // 2 non-members may be false positives
  EXPECT_DOUBLE_EQ(r.at_fpr[0].tpr, 1.0);
  EXPECT_EQ(r.at_fpr[0].false_positives, 0);
  EXPECT_GT(r.epsilon_lower_bound, 5.0);
  EXPECT_GE(r.epsilon_lower_bound, r.at_fpr[1].epsilon_lower_bound);
}

TEST(Membership, IdenticalDistributionsGiveNoEvidence) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> n(0, 1);
  std::vector<double> in(3000), out(3000);
  for (auto& x : in) x = n(rng);
  for (auto& x : out) x = n(rng);
  const AttackResult r = evaluate_attack("t", "m", in, out);
  EXPECT_NEAR(r.auroc, 0.5, 0.03);
  // The bound is a 95% statement per threshold; maximised over thresholds it stays small.
  EXPECT_LT(r.epsilon_lower_bound, 0.5);
  EXPECT_FALSE(r.to_json().dump().empty());
  // Exactly 1% of non-members flagged at most.
  EXPECT_LE(r.at_fpr[1].false_positives, 30);
}

TEST(Membership, CalibrationSubtractsTheReferenceMeanOverThePooledSpread) {
  const std::vector<double> target = {3, 0, 1};
  const std::vector<std::vector<double>> ref = {{1, 0, 2}, {3, 2, 0}};
  // Means 2, 1, 1; residuals +-1 everywhere: pooled sd = sqrt(6 / (3 * 1)) = sqrt(2).
  const auto z = calibrated_scores(target, ref);
  EXPECT_NEAR(z[0], 1 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(z[1], -1 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(z[2], 0.0, 1e-12);
  EXPECT_EQ(calibrated_scores(target, {{1, 1, 1}})[0], 2.0);  // one model: no scale
}

TEST(Membership, LossesAndConfidencesPerExample) {
  // Two rows, two tasks; row 1's second task is missing.
  const std::vector<double> scores = {0.9, 0.2, 0.3, 0.5};
  const std::vector<double> labels = {1, 0, 0, std::numeric_limits<double>::quiet_NaN()};
  const auto loss = example_losses("multi-label", scores, labels, 2);
  EXPECT_NEAR(loss[0], -(std::log(0.9) + std::log(0.8)) / 2, 1e-12);
  EXPECT_NEAR(loss[1], -std::log(0.7), 1e-12);
  const auto conf = example_confidences("multi-label", scores, labels, 2);
  EXPECT_NEAR(conf[0], std::log(0.9 / 0.1) + std::log(0.8 / 0.2), 1e-12);
  EXPECT_NEAR(conf[1], std::log(0.7 / 0.3), 1e-12);
  // Multi-class: the true class's probability.
  const std::vector<double> probs = {0.7, 0.2, 0.1};
  const std::vector<double> cls = {1};
  EXPECT_NEAR(example_losses("multi-class", probs, cls, 1)[0], -std::log(0.2), 1e-12);
  EXPECT_NEAR(example_confidences("multi-class", probs, cls, 1)[0], std::log(0.2 / 0.8), 1e-12);
  // Saturated outputs stay finite.
  const std::vector<double> sure = {1.0};
  const std::vector<double> zero = {0};
  EXPECT_TRUE(std::isfinite(example_losses("binary", sure, zero, 1)[0]));
}

TEST(Membership, BadInputIsRejectedWithTheReason) {
  const std::vector<double> some = {1, 2}, none;
  EXPECT_THAT(
      [&] { evaluate_attack("t", "m", some, none); },
      ::testing::ThrowsMessage<Error>(HasSubstr("needs members and non-members, got 2 and 0")));
  const std::vector<double> bad = {std::nan("")};
  EXPECT_THAT([&] { evaluate_attack("t", "m", some, bad); },
              ::testing::ThrowsMessage<Error>(HasSubstr("is not finite")));
  EXPECT_THAT([&] { calibrated_scores(some, {}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("at least one reference model")));
  EXPECT_THAT([&] { calibrated_scores(some, {{1.0}}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("1 confidences for 2 examples")));
  EXPECT_THAT([&] { example_losses("ranking", some, some, 2); },
              ::testing::ThrowsMessage<Error>(HasSubstr("unknown model kind 'ranking'")));
  EXPECT_THAT([&] { example_losses("binary", some, some, 3); },
              ::testing::ThrowsMessage<Error>(HasSubstr("do not split into 3 rows")));
  EXPECT_THAT([] { clopper_pearson_lower(5, 3, 0.95); },
              ::testing::ThrowsMessage<Error>(HasSubstr("got 5 of 3")));
  AttackOptions o;
  o.fprs = {1.5};
  EXPECT_THAT([&] { evaluate_attack("t", "m", some, some, o); },
              ::testing::ThrowsMessage<Error>(HasSubstr("FPR 1.5 is not in (0, 1)")));
}

}  // namespace
}  // namespace strand::rules
