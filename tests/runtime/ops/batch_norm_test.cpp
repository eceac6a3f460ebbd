// Fused batch_norm: values against the definition, running statistics, float64 gradchecks; the
// fused batch_norm_relu_max_pool1d against the unfused chain (bit for bit) and float64 gradchecks;
// the inference pass relu_max_pool1d_inference against the eval-mode chain.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/autograd.h"
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

// Every element equal (NaN never expected here).
::testing::AssertionResult same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return ::testing::AssertionFailure() << "shapes differ";
  const std::vector<double> u = a.to_vector<double>(), v = b.to_vector<double>();
  for (size_t i = 0; i < u.size(); ++i) {
    if (u[i] != v[i])
      return ::testing::AssertionFailure() << "element " << i << ": " << u[i] << " vs " << v[i];
  }
  return ::testing::AssertionSuccess();
}

struct PoolCase {
  Shape shape;
  int64_t kernel, stride, padding;
};

// Runs the fused op or the unfused chain on fresh copies of the same inputs; returns the output,
// the running statistics and the gradients of x, weight and bias for upstream gradient dy.
std::vector<Tensor> run_block(bool fused, const Tensor& x0, const Tensor& w0, const Tensor& b0,
                              const PoolCase& p, bool x_grad = true) {
  const Tensor x = x0.clone().set_requires_grad(x_grad);
  const Tensor w = w0.clone().set_requires_grad(true), b = b0.clone().set_requires_grad(true);
  const int64_t c = x.shape()[1];
  Tensor rm = zeros({c}, {.dtype = x.dtype()}), rv = ones({c}, {.dtype = x.dtype()});
  const Tensor y =
      fused ? batch_norm_relu_max_pool1d(x, w, b, rm, rv, 0.1, 1e-5, p.kernel, p.stride, p.padding)
            : max_pool1d(relu(batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5)), p.kernel, p.stride,
                         p.padding);
  const Tensor dy = randn(y.shape(), 7, {.dtype = x.dtype()});
  sum(y * dy).backward();
  return {y, rm, rv, x_grad ? x.grad() : Tensor(), w.grad(), b.grad()};
}

const PoolCase kPoolCases[] = {
    {{5, 4, 12}, 3, 3, 0},  // Basset's non-overlapping windows
    {{4, 3, 13}, 4, 2, 1},  // overlapping, padded, a ragged end
    {{3, 2, 9}, 4, 4, 0},   // the tail that fits no window
};

TEST(BatchNormReluMaxPool, EqualsTheUnfusedChainBitForBit) {
  for (const DType dtype : {DType::kF32, DType::kF64}) {
    for (const PoolCase& p : kPoolCases) {
      const int64_t c = p.shape[1];
      for (const bool ties : {false, true}) {
        // Integer inputs give tied window maxima (and exact zeros after the ReLU).
        Tensor x = randn(p.shape, 11, {.dtype = dtype}) * 2.0;
        if (ties) x = (x * 1.5).to(DType::kI64).to(dtype);
        const Tensor w = randn({c}, 12, {.dtype = dtype}), b = randn({c}, 13, {.dtype = dtype});
        const std::vector<Tensor> fused = run_block(true, x, w, b, p);
        const std::vector<Tensor> chain = run_block(false, x, w, b, p);
        for (size_t i = 0; i < fused.size(); ++i) {
          EXPECT_TRUE(same_values(fused[i], chain[i]))
              << "output " << i << ", shape " << shape_str(p.shape) << ", ties " << ties;
        }
      }
    }
  }
}

TEST(BatchNormReluMaxPool, WithoutTheInputGradientTheParameterGradientsStillMatch) {
  const PoolCase p = kPoolCases[0];
  const Tensor x = randn(p.shape, 21), w = randn({4}, 22), b = randn({4}, 23);
  const std::vector<Tensor> fused = run_block(true, x, w, b, p, false);
  const std::vector<Tensor> chain = run_block(false, x, w, b, p, false);
  EXPECT_TRUE(same_values(fused[4], chain[4]));
  EXPECT_TRUE(same_values(fused[5], chain[5]));
}

TEST(BatchNormReluMaxPool, GradientsInFloat64) {
  for (const PoolCase& p : kPoolCases) {
    const int64_t c = p.shape[1];
    const auto result = gradcheck(
        [&p](const auto& in) {
          return batch_norm_relu_max_pool1d(in[0], in[1], in[2], Tensor(), Tensor(), 0.1, 1e-5,
                                            p.kernel, p.stride, p.padding);
        },
        {f64_param(p.shape, 31), f64_param({c}, 32), f64_param({c}, 33)});
    EXPECT_TRUE(result.ok) << result.report;
  }
  // No affine parameters.
  const auto result = gradcheck(
      [](const auto& in) {
        return batch_norm_relu_max_pool1d(in[0], Tensor(), Tensor(), Tensor(), Tensor(), 0.1, 1e-5,
                                          2);
      },
      {f64_param({3, 2, 8}, 34)});
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(BatchNormReluMaxPool, BadInputsAreRejected) {
  EXPECT_THAT(
      [] {
        batch_norm_relu_max_pool1d(zeros({4, 3}), Tensor(), Tensor(), Tensor(), Tensor(), 0.1, 1e-5,
                                   2);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("input must be [N, C, L]")));
  EXPECT_THAT(
      [] {
        batch_norm_relu_max_pool1d(zeros({2, 3, 4}), ones({2}), Tensor(), Tensor(), Tensor(), 0.1,
                                   1e-5, 2);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("must have shape [3]")));
  EXPECT_THAT(
      [] {
        batch_norm_relu_max_pool1d(zeros({2, 3, 4}), Tensor(), Tensor(), Tensor(), Tensor(), 0.1,
                                   1e-5, 5);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("longer than the padded input")));
  EXPECT_THAT(
      [] {
        batch_norm_relu_max_pool1d(zeros({1, 3, 1}), Tensor(), Tensor(), Tensor(), Tensor(), 0.1,
                                   1e-5, 1);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("more than one value per channel")));
}

// The inference pass against the eval-mode chain it replaces, with and without batch norm (and
// NaN inputs, which ReLU maps to 0).
TEST(ReluMaxPoolInference, MatchesTheEvalModeChain) {
  const NoGradGuard no_grad;
  for (const DType dtype : {DType::kF32, DType::kF64}) {
    const double tol = dtype == DType::kF32 ? 1e-6 : 1e-13;
    for (const PoolCase& p : kPoolCases) {
      const int64_t c = p.shape[1];
      SCOPED_TRACE(::testing::Message()
                   << shape_str(p.shape) << (dtype == DType::kF32 ? " f32" : " f64"));
      Tensor x = randn(p.shape, 41, {.dtype = dtype}) * 2.0;
      if (dtype == DType::kF32)
        x.data<float>()[3] = std::nanf("");
      else
        x.data<double>()[3] = std::nan("");
      const Tensor w = randn({c}, 42, {.dtype = dtype}), b = randn({c}, 43, {.dtype = dtype});
      const Tensor rm = randn({c}, 44, {.dtype = dtype}),
                   rv = rand({c}, 45, {.dtype = dtype}) + 0.5;
      const Tensor plain = relu_max_pool1d_inference(x, p.kernel, p.stride, p.padding);
      EXPECT_TRUE(same_values(plain, max_pool1d(relu(x), p.kernel, p.stride, p.padding)));
      const Tensor fused =
          relu_max_pool1d_inference(x, p.kernel, p.stride, p.padding, w, b, rm, rv, 1e-3);
      const Tensor chain = max_pool1d(relu(batch_norm(x, w, b, rm, rv, false, 0.1, 1e-3)), p.kernel,
                                      p.stride, p.padding);
      EXPECT_TRUE(tensors_close(fused, chain, tol, tol));
      // Without affine parameters.
      EXPECT_TRUE(tensors_close(
          relu_max_pool1d_inference(x, p.kernel, p.stride, p.padding, Tensor(), Tensor(), rm, rv),
          max_pool1d(relu(batch_norm(x, Tensor(), Tensor(), rm, rv, false)), p.kernel, p.stride,
                     p.padding),
          tol, tol));
    }
  }
}

TEST(ReluMaxPoolInference, BadInputsAreRejected) {
  EXPECT_THAT(
      [] {
        relu_max_pool1d_inference(zeros({2, 3, 4}), 2, 2, 0);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("under NoGradGuard")));
  const NoGradGuard no_grad;
  EXPECT_THAT(
      [] {
        relu_max_pool1d_inference(zeros({4, 3}), 2, 2, 0);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("input must be [N, C, L]")));
  EXPECT_THAT(
      [] {
        relu_max_pool1d_inference(zeros({2, 3, 4}), 2, 2, 0, Tensor(), Tensor(), zeros({3}));
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("both running statistics or neither")));
  EXPECT_THAT(
      [] {
        relu_max_pool1d_inference(zeros({2, 3, 4}), 2, 2, 0, Tensor(), Tensor(), zeros({2}),
                                  ones({2}));
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("must have shape [3]")));
  EXPECT_THAT(
      [] {
        relu_max_pool1d_inference(zeros({2, 3, 4}), 5, 5, 0);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("longer than the padded input")));
}

}  // namespace
}  // namespace strand::runtime
