// matmul and linear: values (transposed views included), gradchecks, errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/gradcheck.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::f64_param;
using strand::testing::tensor_close;
using strand::testing::tensors_close;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(Matmul, HandComputedProducts) {
  const Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = from_vector<float>({1, 0, 0, 1, 1, 1}, {3, 2});
  EXPECT_TRUE(tensor_close(matmul(a, b), {4, 5, 10, 11}));
  // Transposed views go to GEMM as flags and give the same result as copies.
  EXPECT_TRUE(
      tensors_close(matmul(a.transpose(0, 1), a), matmul(a.transpose(0, 1).contiguous(), a)));
  EXPECT_TRUE(tensor_close(matmul(a, a.transpose(0, 1)), {14, 32, 32, 77}));
  // Batched, with a shared right operand.
  const Tensor batch = stack({a, a * 2.0}, 0);
  EXPECT_TRUE(tensor_close(matmul(batch, b), {4, 5, 10, 11, 8, 10, 20, 22}));
  // bf16 products accumulate in float.
  EXPECT_TRUE(tensor_close(matmul(a.to(DType::kBF16), b.to(DType::kBF16)), {4, 5, 10, 11}));
}

TEST(Matmul, LinearMatchesItsDefinition) {
  const Tensor x = from_vector<float>({1, 2, 3, 4}, {2, 2});
  const Tensor w = from_vector<float>({1, 1, 0, 2, -1, 0}, {3, 2});
  const Tensor b = from_vector<float>({10, 20, 30}, {3});
  EXPECT_TRUE(tensor_close(linear(x, w, b), {13, 24, 29, 17, 28, 27}));
  EXPECT_TRUE(tensor_close(linear(x, w), {3, 4, -1, 7, 8, -3}));
  // Leading dimensions are kept.
  EXPECT_EQ(linear(zeros({4, 5, 2}), w, b).shape(), (Shape{4, 5, 3}));
}

TEST(Matmul, Gradients) {
  const Tensor a = f64_param({3, 4}, 1), b = f64_param({4, 2}, 2);
  const Tensor a3 = f64_param({2, 3, 4}, 3), b3 = f64_param({2, 4, 2}, 4);
  EXPECT_TRUE(gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {a, b}).ok);
  EXPECT_TRUE(gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {a3, b3}).ok);
  EXPECT_TRUE(gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {a3, b}).ok);
  EXPECT_TRUE(
      gradcheck([](const auto& in) { return matmul(in[0].transpose(0, 1), in[1]); },
                {f64_param({4, 3}, 5), b3.select(0, 0).detach().clone().set_requires_grad(true)})
          .ok);
  const Tensor x = f64_param({2, 3, 4}, 6), w = f64_param({5, 4}, 7), bias = f64_param({5}, 8);
  const auto result =
      gradcheck([](const auto& in) { return linear(in[0], in[1], in[2]); }, {x, w, bias});
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(Matmul, ShapeErrors) {
  EXPECT_THAT(
      [] {
        matmul(zeros({2, 3}), zeros({2, 3}));
      },
      ThrowsMessage<Error>(HasSubstr("inner dimensions differ: [2, 3] x [2, 3]")));
  EXPECT_THAT(
      [] {
        matmul(zeros({2, 2, 3}), zeros({3, 3, 1}));
      },
      ThrowsMessage<Error>(HasSubstr("batch sizes differ")));
  EXPECT_THAT(
      [] {
        linear(zeros({2, 3}), zeros({4, 5}));
      },
      ThrowsMessage<Error>(HasSubstr("must equal weight's in_features (5)")));
  EXPECT_THAT(
      [] {
        linear(zeros({2, 3}), zeros({4, 3}), zeros({3}));
      },
      ThrowsMessage<Error>(HasSubstr("bias must have shape [4]")));
}

}  // namespace
}  // namespace strand::runtime
