// Fused batch_norm: values against the definition, running statistics, float64 gradchecks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/gradcheck.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::f64_param;
using strand::testing::tensors_close;

TEST(BatchNormOp, MatchesTheDefinitionAndUpdatesRunningStatistics) {
  const Tensor x = randn({6, 3, 7}, 1, {.dtype = DType::kF64});
  const Tensor w = randn({3}, 2, {.dtype = DType::kF64}), b = randn({3}, 3, {.dtype = DType::kF64});
  Tensor rm = zeros({3}, {.dtype = DType::kF64}), rv = ones({3}, {.dtype = DType::kF64});
  const Tensor y = batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5);
  const Tensor mu = mean(x, {0, 2}, true);
  const Tensor var = mean((x - mu) * (x - mu), {0, 2}, true);
  const Tensor expected = (x - mu) / sqrt(var + 1e-5) * w.reshape({3, 1}) + b.reshape({3, 1});
  EXPECT_TRUE(tensors_close(y, expected, 1e-10, 1e-10));
  EXPECT_TRUE(tensors_close(rm, mu.reshape({3}) * 0.1, 1e-10, 1e-10));
  EXPECT_TRUE(tensors_close(rv, var.reshape({3}) * (0.1 * 42.0 / 41.0) + 0.9, 1e-8, 1e-8));
  // Eval mode uses the running statistics.
  const Tensor z = batch_norm(x, w, b, rm, rv, false);
  const Tensor expected_eval =
      (x - rm.reshape({3, 1})) / sqrt(rv.reshape({3, 1}) + 1e-5) * w.reshape({3, 1}) +
      b.reshape({3, 1});
  EXPECT_TRUE(tensors_close(z, expected_eval, 1e-10, 1e-10));
}

TEST(BatchNormOp, GradientsInFloat64) {
  for (const Shape& shape : {Shape{5, 4, 6}, Shape{7, 3}}) {
    const int64_t c = shape[1];
    const auto result = gradcheck(
        [](const auto& in) { return batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), true); },
        {f64_param(shape, 1), f64_param({c}, 2), f64_param({c}, 3)});
    EXPECT_TRUE(result.ok) << result.report;
  }
}

TEST(BatchNormOp, BadInputsAreRejected) {
  EXPECT_THAT(
      [] {
        batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("more than one value per channel")));
  EXPECT_THAT(
      [] {
        batch_norm(zeros({4, 3}), ones({2}), Tensor(), Tensor(), Tensor(), true);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("must have shape [3]")));
}

}  // namespace
}  // namespace strand::runtime
