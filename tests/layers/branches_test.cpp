// SumOfBranches: the output is the sum of the branches, gradients reach every branch, state_dict
// names nest, and mismatched shapes or no branches are clear errors.
#include "layers/branches.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "layers/linear.h"
#include "layers/sequential.h"
#include "runtime/ops.h"
#include "runtime/rng.h"

namespace strand::layers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(SumOfBranches, AddsTheBranchesAndBackpropagatesIntoEach) {
  runtime::manual_seed(3);
  SumOfBranches sum;
  auto a = std::make_shared<Linear>(5, 2);
  auto b = std::make_shared<Linear>(5, 2);
  sum.add(a).add(b);
  const Tensor x = runtime::randn({3, 5}, 1);
  const auto ya = (*a)(x).to_vector<float>(), yb = (*b)(x).to_vector<float>();
  const Tensor y = sum(x);
  const auto ys = y.to_vector<float>();
  for (size_t i = 0; i < ys.size(); ++i) EXPECT_FLOAT_EQ(ys[i], ya[i] + yb[i]);
  runtime::sum(y).backward();
  for (const auto& p : sum.parameters()) {
    ASSERT_TRUE(p.grad().defined());
    double norm = 0;
    for (float g : p.grad().to_vector<float>()) norm += g * g;
    EXPECT_GT(norm, 0);
  }
  std::vector<std::string> names;
  for (const auto& [name, t] : sum.named_parameters()) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("0.weight", "0.bias", "1.weight", "1.bias"));
}

TEST(SumOfBranches, BranchDropoutLeavesWholeExamplesOutOnlyInTraining) {
  runtime::manual_seed(4);
  SumOfBranches sum;
  auto a = std::make_shared<Linear>(3, 2);
  auto b = std::make_shared<Linear>(3, 2);
  sum.add(a, 0.5).add(b);
  const int64_t n = 2000;
  const Tensor x = runtime::randn({n, 3}, 2);
  const auto ya = (*a)(x).to_vector<float>(), yb = (*b)(x).to_vector<float>();
  const auto y = sum(x).to_vector<float>();  // modules start in training mode
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool left_out = std::abs(y[2 * i] - yb[2 * i]) < 1e-6f;
    dropped += left_out;
    for (int k = 0; k < 2; ++k)  // a whole example: both outputs in or both out
      EXPECT_NEAR(y[2 * i + k], yb[2 * i + k] + (left_out ? 0.0f : ya[2 * i + k]), 1e-5);
  }
  EXPECT_GT(dropped, n * 0.45);
  EXPECT_LT(dropped, n * 0.55);
  sum.eval();
  const auto e = sum(x).to_vector<float>();
  for (size_t i = 0; i < e.size(); ++i) EXPECT_NEAR(e[i], ya[i] + yb[i], 1e-5);
  EXPECT_THAT([&] { sum.add(std::make_shared<Linear>(3, 2), 1.0); },
              ThrowsMessage<Error>(HasSubstr("branch 2 drop must be in [0, 1), got 1")));
}

TEST(SumOfBranches, MismatchedShapesAndNoBranchesAreErrors) {
  SumOfBranches none;
  EXPECT_THAT(
      [&] {
        none(runtime::zeros({1, 5}));
      },
      ThrowsMessage<Error>(HasSubstr("SumOfBranches: no branches")));
  SumOfBranches sum;
  sum.add(std::make_shared<Linear>(5, 2)).add(std::make_shared<Linear>(5, 3));
  EXPECT_THAT(
      [&] {
        sum(runtime::zeros({1, 5}));
      },
      ThrowsMessage<Error>(HasSubstr("branch 1 gives shape [1, 3], branch 0 [1, 2]")));
  EXPECT_THAT([&] { sum.add(nullptr); }, ThrowsMessage<Error>(HasSubstr("branch 2 is null")));
}

}  // namespace
}  // namespace strand::layers
