// Calibration fitted on validation: deliberately over-confident scores become calibrated on test.
#include "rules/calibration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

// Binary labels drawn from true probabilities; the scores are those probabilities made
// over-confident (logit times `factor`; 1: calibrated already).
void overconfident_binary(int n, uint64_t seed, std::vector<double>& labels,
                          std::vector<double>& scores, double factor = 3) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0, 1.2);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    const double logit = z(rng), p = 1 / (1 + std::exp(-logit));
    labels.push_back(u(rng) < p ? 1 : 0);
    scores.push_back(1 / (1 + std::exp(-factor * logit)));
  }
}

// Three classes from true softmax probabilities; scores are softmax(3 x logits).
void overconfident_multiclass(int n, uint64_t seed, std::vector<double>& labels,
                              std::vector<double>& scores) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    double l[3], p[3], q[3], sp = 0, sq = 0;
    for (int c = 0; c < 3; ++c) {
      l[c] = z(rng);
      sp += p[c] = std::exp(l[c]);
      sq += q[c] = std::exp(3 * l[c]);
    }
    const double r = u(rng) * sp;
    labels.push_back(r < p[0] ? 0 : r < p[0] + p[1] ? 1 : 2);
    for (int c = 0; c < 3; ++c) scores.push_back(q[c] / sq);
  }
}

TEST(Calibration, PlattFixesOverconfidentBinaryScores) {
  std::vector<double> vy, vs, ty, ts;
  overconfident_binary(20000, 1, vy, vs);
  overconfident_binary(20000, 2, ty, ts);
  std::vector<double> calibrated;
  const auto j = calibrate_on_valid(TaskKind::kBinary, {"t"}, vy, vs, ty, ts, 10, &calibrated);
  const double before = j["test"]["before"]["ece"].get<double>();
  const double after = j["test"]["after"]["ece"].get<double>();
  EXPECT_GT(before, 0.05);
  EXPECT_LE(after, 0.02);
  EXPECT_NEAR(j["a"][0].get<double>(), 1.0 / 3, 0.03);  // undoes the factor 3
  EXPECT_EQ(j["fitted_on"], "valid");
  EXPECT_FALSE(j["test"]["after"]["tasks"]["t"]["reliability"].empty());
  EXPECT_EQ(calibrated.size(), ts.size());
}

TEST(Calibration, TemperatureFixesOverconfidentMultiClassScores) {
  std::vector<double> vy, vs, ty, ts;
  overconfident_multiclass(20000, 3, vy, vs);
  overconfident_multiclass(20000, 4, ty, ts);
  const auto j = calibrate_on_valid(TaskKind::kMultiClass, {"a", "b", "c"}, vy, vs, ty, ts);
  EXPECT_NEAR(j["temperature"].get<double>(), 3.0, 0.15);
  EXPECT_GT(j["test"]["before"]["ece"].get<double>(), 0.05);
  EXPECT_LE(j["test"]["after"]["ece"].get<double>(), 0.02);
  // Temperature keeps the ranking, so the predicted class never changes.
  const auto cal = fit_calibrator(TaskKind::kMultiClass, 3, vy, vs);
  const auto out = cal.apply(ts);
  for (size_t i = 0; i < ts.size(); i += 3)
    EXPECT_EQ(std::max_element(ts.begin() + i, ts.begin() + i + 3) - ts.begin(),
              std::max_element(out.begin() + i, out.begin() + i + 3) - out.begin());
}

// Whether to calibrate is decided on valid alone (each fifth calibrated by a fit on the rest): yes
// for over-confident scores, no for scores that are calibrated already, where refitting only adds
// noise.
TEST(Calibration, RecommendedOnlyWhenItHelpsOnValid) {
  std::vector<double> vy, vs, ty, ts;
  overconfident_binary(4000, 5, vy, vs);
  overconfident_binary(100, 6, ty, ts);
  auto j = calibrate_on_valid(TaskKind::kBinary, {"t"}, vy, vs, ty, ts);
  EXPECT_TRUE(j["recommended"].get<bool>());
  EXPECT_LT(j["valid_cross_fitted"]["ece_after"].get<double>(), 0.03);
  EXPECT_LT(j["valid_cross_fitted"]["log_loss_after"].get<double>(),
            j["valid_cross_fitted"]["log_loss_before"].get<double>());
  EXPECT_EQ(j["valid_cross_fitted"]["ece_before"], j["valid"]["before"]["ece"]);
  int recommended = 0;
  for (uint64_t seed = 10; seed < 20; ++seed) {
    vy.clear(), vs.clear();
    overconfident_binary(300, seed, vy, vs, 1.0);
    j = calibrate_on_valid(TaskKind::kBinary, {"t"}, vy, vs, ty, ts);
    recommended += j["recommended"].get<bool>();
  }
  EXPECT_LE(recommended, 3);
}

TEST(Calibration, JsonRoundTripAndHostileParameters) {
  std::vector<double> vy, vs;
  overconfident_multiclass(2000, 7, vy, vs);
  const auto cal = fit_calibrator(TaskKind::kMultiClass, 3, vy, vs);
  const auto back = Calibrator::from_json(cal.to_json(), TaskKind::kMultiClass, 3);
  EXPECT_EQ(back.apply(vs), cal.apply(vs));
  overconfident_binary(500, 8, vy, vs);
  std::vector<double> two_tasks_y, two_tasks_s;  // two copies of one task, side by side
  for (size_t i = 0; i < 500; ++i)
    for (int t = 0; t < 2; ++t) two_tasks_y.push_back(vy[i]), two_tasks_s.push_back(vs[i]);
  const auto platt = fit_calibrator(TaskKind::kBinary, 2, two_tasks_y, two_tasks_s);
  EXPECT_EQ(Calibrator::from_json(platt.to_json(), TaskKind::kBinary, 2).apply(two_tasks_s),
            platt.apply(two_tasks_s));
  auto message = [](const nlohmann::json& j, TaskKind kind, int64_t columns) {
    try {
      Calibrator::from_json(j, kind, columns);
    } catch (const Error& e) {
      return e.message();
    }
    return std::string("no error");
  };
  EXPECT_THAT(message(platt.to_json(), TaskKind::kBinary, 3),
              HasSubstr("'a' must list one number per task (3)"));
  EXPECT_THAT(message(platt.to_json(), TaskKind::kMultiClass, 2), HasSubstr("temperature scaling"));
  EXPECT_THAT(
      message({{"method", "temperature scaling"}, {"temperature", -1}}, TaskKind::kMultiClass, 3),
      HasSubstr("must be positive"));
  EXPECT_THAT(
      message({{"method", "temperature scaling"}, {"temperature", "x"}}, TaskKind::kMultiClass, 3),
      HasSubstr("'temperature' must be a finite number"));
  EXPECT_THAT(message(nlohmann::json::array(), TaskKind::kBinary, 1), HasSubstr("\"method\""));
}

TEST(Calibration, BadInputNamesTheProblem) {
  try {
    fit_calibrator(TaskKind::kRegression, 1, {1.0}, {0.5});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("not regression"));
  }
  try {
    fit_calibrator(TaskKind::kMultiClass, 2, {0, 5}, {0.5, 0.5, 0.5, 0.5});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("class label 5"));
  }
  EXPECT_THAT([] { log_loss(TaskKind::kMultiClass, 2, {0, 2}, {0.5, 0.5, 0.5, 0.5}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("class label 2 is not one of the 2")));
}

}  // namespace
}  // namespace strand::rules
