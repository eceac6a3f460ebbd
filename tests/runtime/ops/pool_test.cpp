// Dropout, pooling and losses: values against hand computation, gradchecks, errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/gradcheck.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::f64_param;
using strand::testing::tensor_close;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(Dropout, ZeroesAboutPAndScalesTheRest) {
  Generator gen(3);
  const Tensor x = ones({10000});
  const Tensor y = dropout(x, 0.25, true, gen);
  const std::vector<float> v = y.to_vector<float>();
  int zeros_count = 0;
  for (float e : v) {
    EXPECT_TRUE(e == 0.0f || std::abs(e - 1.0f / 0.75f) < 1e-6f);
    zeros_count += e == 0.0f;
  }
  EXPECT_NEAR(zeros_count / 10000.0, 0.25, 0.02);
  EXPECT_TRUE(dropout(x, 0.5, false, gen).is_same(x));  // identity in eval mode
  Generator a(9), b(9);
  EXPECT_EQ(dropout(x, 0.5, true, a).to_vector<float>(),
            dropout(x, 0.5, true, b).to_vector<float>());
  EXPECT_THAT([&] { dropout(x, 1.5, true, gen); },
              ThrowsMessage<Error>(HasSubstr("probability must be in [0, 1], got 1.5")));
}

TEST(Dropout, GradientUsesTheSameMask) {
  Generator gen(4);
  Tensor x = ones({100}, {.dtype = DType::kF64}).set_requires_grad(true);
  Tensor y = dropout(x, 0.5, true, gen);
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), y.to_vector<double>());
}

TEST(Pool, MaxAndAveragePooling) {
  const Tensor x = from_vector<float>({1, 3, 2, 5, 4, 0}, {1, 1, 6});
  EXPECT_TRUE(tensor_close(max_pool1d(x, 2), {3, 5, 4}));
  EXPECT_TRUE(tensor_close(max_pool1d(x, 3, 1), {3, 5, 5, 5}));
  EXPECT_TRUE(tensor_close(avg_pool1d(x, 2), {2, 3.5, 2}));
  // Padding: -inf for max, counted zeros for average (count_include_pad).
  EXPECT_TRUE(tensor_close(max_pool1d(x, 2, 2, 1), {1, 3, 5, 0}));
  EXPECT_TRUE(tensor_close(avg_pool1d(x, 2, 2, 1), {0.5, 2.5, 4.5, 0}));
  EXPECT_THAT([&] { max_pool1d(x, 8); },
              ThrowsMessage<Error>(HasSubstr("kernel 8 is longer than")));
  EXPECT_THAT([&] { max_pool1d(zeros({6}), 2); },
              ThrowsMessage<Error>(HasSubstr("input must be [N, C, L] or [C, L]")));
}

TEST(Pool, Gradients) {
  const Tensor x = f64_param({2, 3, 11}, 5);
  for (auto fn : std::vector<std::function<Tensor(const std::vector<Tensor>&)>>{
           [](const auto& in) { return max_pool1d(in[0], 3); },
           [](const auto& in) { return max_pool1d(in[0], 4, 2, 1); },
           [](const auto& in) { return avg_pool1d(in[0], 3, 2); },
           [](const auto& in) { return avg_pool1d(in[0], 4, 3, 2); },
       }) {
    const auto result = gradcheck(fn, {x});
    EXPECT_TRUE(result.ok) << result.report;
  }
}

TEST(Loss, BinaryCrossEntropyWithLogitsMatchesTheFormula) {
  const Tensor logits = from_vector<double>({0.5, -1.0, 2.0, 0.0}, {2, 2}, {.dtype = DType::kF64});
  const Tensor targets = from_vector<double>({1, 0, 0, 1}, {2, 2}, {.dtype = DType::kF64});
  auto bce = [](double x, double y, double w) {
    const double s = 1 / (1 + std::exp(-x));
    return -(w * y * std::log(s) + (1 - y) * std::log(1 - s));
  };
  const double expected = (bce(0.5, 1, 1) + bce(-1, 0, 1) + bce(2, 0, 1) + bce(0, 1, 1)) / 4;
  EXPECT_TRUE(
      tensor_close(binary_cross_entropy_with_logits(logits, targets), {expected}, 1e-12, 1e-12));
  const Tensor pos_weight = from_vector<double>({3, 0.5}, {2}, {.dtype = DType::kF64});
  const double weighted = bce(0.5, 1, 3) + bce(-1, 0, 0.5) + bce(2, 0, 3) + bce(0, 1, 0.5);
  EXPECT_TRUE(
      tensor_close(binary_cross_entropy_with_logits(logits, targets, pos_weight, Reduction::kSum),
                   {weighted}, 1e-12, 1e-12));
  // Stable at extreme logits.
  const Tensor extreme =
      binary_cross_entropy_with_logits(from_vector<float>({1000, -1000}, {2}),
                                       from_vector<float>({0, 1}, {2}), Tensor(), Reduction::kNone);
  EXPECT_TRUE(tensor_close(extreme, {1000, 1000}));
}

TEST(Loss, CrossEntropyMseAndPoisson) {
  const Tensor logits = from_vector<double>({1, 2, 3, 1, 1, 1}, {2, 3}, {.dtype = DType::kF64});
  const Tensor classes = from_vector<int64_t>({2, 0}, {2});
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double expected = (-(3 - std::log(z)) + std::log(3.0)) / 2;
  EXPECT_TRUE(tensor_close(cross_entropy(logits, classes), {expected}, 1e-12, 1e-12));
  const Tensor a = from_vector<float>({1, 2, 3}, {3}), b = from_vector<float>({1, 0, 5}, {3});
  EXPECT_TRUE(tensor_close(mse_loss(a, b), {(0 + 4 + 4) / 3.0}));
  EXPECT_TRUE(tensor_close(poisson_nll_loss(a, b, Reduction::kNone),
                           {std::exp(1.0) - 1, std::exp(2.0), std::exp(3.0) - 15}, 1e-6, 1e-5));
}

TEST(Loss, Gradients) {
  const Tensor logits = f64_param({4, 3}, 1);
  const Tensor targets = rand({4, 3}, 2, {.dtype = DType::kF64});
  const Tensor pos_weight = from_vector<double>({2, 1, 0.5}, {3}, {.dtype = DType::kF64});
  const Tensor classes = from_vector<int64_t>({0, 2, 1, 2}, {4});
  for (auto fn : std::vector<std::function<Tensor(const std::vector<Tensor>&)>>{
           [&](const auto& in) {
             return binary_cross_entropy_with_logits(in[0], targets, pos_weight);
           },
           [&](const auto& in) { return cross_entropy(in[0], classes, Reduction::kSum); },
           [&](const auto& in) { return mse_loss(in[0], targets); },
           [&](const auto& in) { return poisson_nll_loss(in[0], targets); },
       }) {
    const auto result = gradcheck(fn, {logits});
    EXPECT_TRUE(result.ok) << result.report;
  }
}

TEST(Loss, BadTargetsAreRejected) {
  EXPECT_THAT(
      [] {
        cross_entropy(zeros({2, 3}), from_vector<int64_t>({0, 3}, {2}));
      },
      ThrowsMessage<Error>(HasSubstr("target class 3 at row 1 is out of range for 3 classes")));
  EXPECT_THAT(
      [] {
        cross_entropy(zeros({2, 3}), zeros({2}));
      },
      ThrowsMessage<Error>(HasSubstr("targets (class indices) must have dtype i64")));
  EXPECT_THAT(
      [] {
        mse_loss(zeros({2, 3}), zeros({3, 2}));
      },
      ThrowsMessage<Error>(HasSubstr("input shape [2, 3] and target shape [3, 2] differ")));
  EXPECT_THAT(
      [] {
        binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}), ones({2}));
      },
      ThrowsMessage<Error>(HasSubstr("pos_weight must have shape [3]")));
}

}  // namespace
}  // namespace strand::runtime
