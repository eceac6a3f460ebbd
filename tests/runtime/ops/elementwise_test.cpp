// Elementwise ops: hand-computed values, broadcasting, float64 gradchecks, and errors.
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

Tensor vec(std::vector<float> v) { return from_vector<float>(v, {static_cast<int64_t>(v.size())}); }

TEST(Elementwise, BinaryOpsWithBroadcasting) {
  const Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor row = vec({10, 20, 30});
  const Tensor col = from_vector<float>({1, 2}, {2, 1});
  EXPECT_TRUE(tensor_close(a + row, {11, 22, 33, 14, 25, 36}));
  EXPECT_TRUE(tensor_close(a - col, {0, 1, 2, 2, 3, 4}));
  EXPECT_TRUE(tensor_close(a * col, {1, 2, 3, 8, 10, 12}));
  EXPECT_TRUE(tensor_close(a / row, {0.1, 0.1, 0.1, 0.4, 0.25, 0.2}));
  EXPECT_TRUE(tensor_close(pow(vec({2, 3}), vec({3, 2})), {8, 9}));
  EXPECT_TRUE(tensor_close(maximum(vec({1, 5}), vec({3, 2})), {3, 5}));
  EXPECT_TRUE(tensor_close(minimum(vec({1, 5}), vec({3, 2})), {1, 2}));
  EXPECT_EQ((col + row).shape(), (Shape{2, 3}));
  // Non-contiguous operands are read through their strides.
  EXPECT_TRUE(tensor_close(a.transpose(0, 1) + 0.0, {1, 4, 2, 5, 3, 6}));
}

TEST(Elementwise, UnaryOpsAndScalars) {
  const Tensor x = vec({-2, -0.5, 0, 1.5});
  EXPECT_TRUE(tensor_close(relu(x), {0, 0, 0, 1.5}));
  EXPECT_TRUE(tensor_close(neg(x), {2, 0.5, 0, -1.5}));
  EXPECT_TRUE(tensor_close(abs(x), {2, 0.5, 0, 1.5}));
  EXPECT_TRUE(tensor_close(clamp(x, -1, 1), {-1, -0.5, 0, 1}));
  EXPECT_TRUE(tensor_close(sigmoid(vec({0})), {0.5}));
  EXPECT_TRUE(tensor_close(tanh(vec({0.5})), {std::tanh(0.5)}));
  EXPECT_TRUE(tensor_close(exp(vec({1})), {std::exp(1.0)}));
  EXPECT_TRUE(tensor_close(log(vec({2})), {std::log(2.0)}));
  EXPECT_TRUE(tensor_close(sqrt(vec({9})), {3}));
  // GELU(1) = 1 * Phi(1); softplus(0) = log 2; softplus is linear above 20.
  EXPECT_TRUE(tensor_close(gelu(vec({1})), {0.8413447460685429}));
  EXPECT_TRUE(tensor_close(softplus(vec({0, 30})), {std::log(2.0), 30}));
  EXPECT_TRUE(tensor_close(x * 2.0 + 1.0, {-3, 0, 1, 4}));
  EXPECT_TRUE(tensor_close(1.0 - x, {3, 1.5, 1, -0.5}));
  EXPECT_TRUE(tensor_close(2.0 / vec({4, 8}), {0.5, 0.25}));
  EXPECT_TRUE(tensor_close(pow(vec({3}), 2.0), {9}));
  // Extreme logits stay finite in sigmoid.
  EXPECT_TRUE(tensor_close(sigmoid(vec({-100, 100})), {0, 1}));
}

TEST(Elementwise, BinaryGradientsReduceOverBroadcastDimensions) {
  const Tensor a = f64_param({2, 3}, 1), b = f64_param({3}, 2), c = f64_param({2, 1}, 3);
  for (auto fn : std::vector<std::function<Tensor(const std::vector<Tensor>&)>>{
           [](const auto& in) { return in[0] + in[1] * in[2]; },
           [](const auto& in) { return in[0] - in[1] / (in[2] * in[2] + 1.0); },
           [](const auto& in) { return maximum(in[0], in[1]) * minimum(in[0], in[2]); },
           [](const auto& in) { return pow(abs(in[0]) + 0.5, in[1]); },
       }) {
    const auto result = gradcheck(fn, {a, b, c});
    EXPECT_TRUE(result.ok) << result.report;
  }
}

TEST(Elementwise, UnaryGradients) {
  const Tensor x = f64_param({7}, 4);
  const Tensor positive = (abs(f64_param({5}, 5)) + 0.3).detach().set_requires_grad(true);
  for (auto fn : std::vector<std::function<Tensor(const std::vector<Tensor>&)>>{
           [](const auto& in) { return neg(exp(in[0])); },
           [](const auto& in) { return sigmoid(in[0]) + tanh(in[0]); },
           [](const auto& in) { return gelu(in[0]) + softplus(in[0] * 3.0); },
           [](const auto& in) { return relu(in[0] + 0.05) + clamp(in[0], -0.5, 0.5); },
           [](const auto& in) { return 1.0 - in[0] * 2.0 + 3.0; },
       }) {
    const auto result = gradcheck(fn, {x});
    EXPECT_TRUE(result.ok) << result.report;
  }
  for (auto fn : std::vector<std::function<Tensor(const std::vector<Tensor>&)>>{
           [](const auto& in) { return log(in[0]) + sqrt(in[0]); },
           [](const auto& in) { return pow(in[0], 2.5) + 1.0 / in[0]; },
       }) {
    const auto result = gradcheck(fn, {positive});
    EXPECT_TRUE(result.ok) << result.report;
  }
}

TEST(Elementwise, MismatchesAreRejected) {
  EXPECT_THAT(
      [] {
        zeros({2, 3}) + zeros({4});
      },
      ThrowsMessage<Error>(HasSubstr("shapes [2, 3] and [4] cannot be broadcast")));
  EXPECT_THAT([] { zeros({2}) + zeros({2}, {.dtype = DType::kF64}); },
              ThrowsMessage<Error>(HasSubstr("add: dtype mismatch (f32 and f64)")));
  EXPECT_THAT([] { relu(zeros({2}, {.dtype = DType::kI64})); },
              ThrowsMessage<Error>(HasSubstr("relu: needs floating tensors")));
  EXPECT_THAT([] { clamp(zeros({1}), 1, 0); },
              ThrowsMessage<Error>(HasSubstr("low 1 is greater than high 0")));
}

}  // namespace
}  // namespace strand::runtime
