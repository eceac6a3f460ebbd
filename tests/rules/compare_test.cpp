// Comparing two runs: DeLong for AUROC, paired bootstrap for AUPRC, verdicts, bad input.
#include "rules/compare.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "rules/delong.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

struct Runs {
  std::vector<double> labels, a, b;
};

// Run A separates the classes well, run B barely.
Runs make_runs(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  Runs r;
  for (int i = 0; i < n; ++i) {
    const int y = static_cast<int>(rng() % 2);
    r.labels.push_back(y);
    r.a.push_back(2.0 * y + noise(rng));
    r.b.push_back(0.3 * y + noise(rng));
  }
  return r;
}

CompareOptions options() {
  CompareOptions o;
  o.bootstrap.replicates = 300;
  o.bootstrap.seed = 9;
  return o;
}

TEST(Compare, BetterRunWinsOnBothTests) {
  const auto r = make_runs(400, 1);
  const auto j = compare_runs(TaskKind::kBinary, {"t"}, r.labels, r.a, r.b, options());
  const auto& t = j["tasks"]["t"];
  std::vector<int> y(r.labels.begin(), r.labels.end());
  const auto dl = delong_test(y, r.a, r.b);
  EXPECT_DOUBLE_EQ(t["auroc"]["delong"]["z"].get<double>(), dl.z);
  EXPECT_EQ(t["auroc"]["verdict"], "A better");
  EXPECT_LT(t["auprc"]["bootstrap"]["p_value"].get<double>(), 0.05);
  EXPECT_EQ(t["auprc"]["verdict"], "A better");
  EXPECT_GT(t["auprc"]["difference"].get<double>(), 0.0);
  // Swapping the runs flips the sign.
  const auto s = compare_runs(TaskKind::kBinary, {"t"}, r.labels, r.b, r.a, options());
  EXPECT_EQ(s["tasks"]["t"]["auroc"]["verdict"], "B better");
  const auto sum = summarize_comparison(j);
  EXPECT_EQ(sum["a_better"], 1);
  EXPECT_EQ(sum["b_better"], 0);
  EXPECT_EQ(sum["sentence"], "A is significantly better than B (AUROC, DeLong, alpha 0.05)");
  // One task and no winner never reads "on none task" (issue 18).
  const auto same =
      summarize_comparison(compare_runs(TaskKind::kBinary, {"t"}, r.labels, r.a, r.a, options()));
  EXPECT_EQ(same["sentence"],
            "no significant difference between A and B (AUROC, DeLong, alpha 0.05)");
  // Two tasks count them.
  Runs two;
  for (size_t i = 0; i < r.labels.size(); ++i)
    for (int t = 0; t < 2; ++t) {
      two.labels.push_back(r.labels[i]);
      two.a.push_back(r.a[i]);
      two.b.push_back(r.b[i]);
    }
  const auto both = summarize_comparison(
      compare_runs(TaskKind::kBinary, {"t", "u"}, two.labels, two.a, two.b, options()));
  EXPECT_EQ(both["sentence"],
            "A beats B significantly on 2 of 2 tasks (AUROC, DeLong, alpha 0.05); B beats A on "
            "no task");
}

TEST(Compare, McNemarExactTest) {
  // 10 discordant rows all won by A: p = 2 / 2^10.
  std::vector<int> a(30, 1), b(30, 1);
  for (int i = 0; i < 10; ++i) b[i] = 0;
  const auto r = mcnemar_test(a, b);
  EXPECT_EQ(r.a_only, 10);
  EXPECT_EQ(r.b_only, 0);
  EXPECT_NEAR(r.p_value, 2.0 / 1024, 1e-12);
  // Balanced disagreement: p = 1; no disagreement: p = 1.
  std::vector<int> c = a;
  for (int i = 10; i < 20; ++i) c[i] = 0;
  EXPECT_DOUBLE_EQ(mcnemar_test(b, c).p_value, 1.0);
  EXPECT_DOUBLE_EQ(mcnemar_test(a, a).p_value, 1.0);
  // Large n stays finite: 600 vs 400 discordant rows is clearly significant.
  std::vector<int> x(1000, 0), z(1000, 0);
  for (int i = 0; i < 600; ++i) x[i] = 1;
  for (int i = 600; i < 1000; ++i) z[i] = 1;
  EXPECT_LT(mcnemar_test(x, z).p_value, 1e-8);
}

TEST(Compare, IdenticalRunsShowNoDifference) {
  const auto r = make_runs(200, 2);
  const auto j = compare_runs(TaskKind::kBinary, {"t"}, r.labels, r.a, r.a, options());
  EXPECT_EQ(j["tasks"]["t"]["auroc"]["verdict"], "no significant difference");
  EXPECT_DOUBLE_EQ(j["tasks"]["t"]["auprc"]["bootstrap"]["p_value"].get<double>(), 1.0);
}

TEST(Compare, PairedBootstrapPValue) {
  EXPECT_DOUBLE_EQ(paired_bootstrap_p({0.1, 0.2, 0.3, -0.1}), 0.5);
  EXPECT_DOUBLE_EQ(paired_bootstrap_p({0.1, 0.2}), 0.0);
  EXPECT_DOUBLE_EQ(paired_bootstrap_p({}), 1.0);
}

TEST(Compare, OneClassIsUndefinedAndNaNRaises) {
  const std::vector<double> labels = {1, 1, 1}, a = {0.1, 0.2, 0.3}, b = {0.3, 0.2, 0.1};
  const auto j = compare_runs(TaskKind::kBinary, {"t"}, labels, a, b, options());
  EXPECT_EQ(j["tasks"]["t"]["auroc"]["verdict"], "undefined");
  EXPECT_THAT(j["tasks"]["t"]["auroc"]["delong"]["undefined"].get<std::string>(),
              HasSubstr("one class"));
  const std::vector<double> bad = {0.1, NAN, 0.3};
  try {
    compare_runs(TaskKind::kBinary, {"t"}, labels, a, bad, options());
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("score at row 1 is NaN"));
  }
}

TEST(Compare, MultiClassAndRegression) {
  std::mt19937_64 rng(3);
  std::vector<double> y, a, b, ry, ra, rb;
  for (int i = 0; i < 150; ++i) {
    const int c = static_cast<int>(rng() % 3);
    y.push_back(c);
    for (int k = 0; k < 3; ++k) {
      a.push_back(k == c ? 0.8 : 0.1);
      b.push_back(static_cast<double>(rng() % 100) / 100);
    }
    ry.push_back(i);
    ra.push_back(i + static_cast<double>(rng() % 5));
    rb.push_back(static_cast<double>(rng() % 150));
  }
  const auto m = compare_runs(TaskKind::kMultiClass, {"x", "y", "z"}, y, a, b, options());
  EXPECT_EQ(m["macro_auroc"]["verdict"], "A better");
  EXPECT_TRUE(m["classes"]["x"]["delong"].contains("z"));
  // Multi-class accuracy is compared by McNemar's test on the paired correct/incorrect rows.
  EXPECT_EQ(m["accuracy"]["verdict"], "A better");
  EXPECT_GT(m["accuracy"]["mcnemar"]["a_only_correct"].get<int>(),
            m["accuracy"]["mcnemar"]["b_only_correct"].get<int>());
  EXPECT_LT(m["accuracy"]["mcnemar"]["p_value"].get<double>(), 0.05);
  const auto ms = summarize_comparison(m);
  EXPECT_EQ(ms["a_better"], 2);
  EXPECT_THAT(ms["sentence"].get<std::string>(), HasSubstr("McNemar"));
  const auto r = compare_runs(TaskKind::kRegression, {"v"}, ry, ra, rb, options());
  EXPECT_EQ(r["tasks"]["v"]["pearson"]["verdict"], "A better");
  // A's lower MSE and log loss make A the better run on them too.
  EXPECT_LT(r["tasks"]["v"]["mse"]["a"].get<double>(), r["tasks"]["v"]["mse"]["b"].get<double>());
  EXPECT_EQ(r["tasks"]["v"]["mse"]["verdict"], "A better");
  EXPECT_LT(m["log_loss"]["a"].get<double>(), m["log_loss"]["b"].get<double>());
  EXPECT_EQ(m["log_loss"]["verdict"], "A better");
}

}  // namespace
}  // namespace strand::rules
