// The fused CPU batch norm + ReLU + max pooling kernels: equal bit for bit to the unfused chain of
// kernels they replace (batch_norm_forward, unary relu, max_pool1d and the backward passes in
// reverse), as batch_norm_relu_pool.h promises, in float, double and bf16; and against a plain
// double loop written here for the values. Edge shapes: one row, kernel 1, padding, windows with
// gaps, odd lengths; gamma/beta and dx optional; a bad pooling shape raises an error.
#include "kernels/batch_norm/batch_norm_relu_pool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/elementwise/elementwise.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

constexpr double kEps = 1e-5;

BatchNormReluPoolShape shape(int64_t n, int64_t c, int64_t l, int64_t kernel, int64_t stride,
                             int64_t padding) {
  return {.norm = {n, c, l}, .kernel = kernel, .stride = stride, .padding = padding};
}

const std::vector<BatchNormReluPoolShape>& shapes() {
  static const std::vector<BatchNormReluPoolShape> s = {
      shape(1, 1, 1, 1, 1, 0),  shape(2, 3, 7, 1, 1, 0),  shape(4, 3, 20, 3, 3, 0),
      shape(3, 2, 17, 4, 3, 2), shape(2, 5, 23, 2, 5, 0), shape(5, 4, 31, 5, 2, 1),
      shape(8, 6, 64, 4, 4, 0),
  };
  return s;
}

std::string describe(const BatchNormReluPoolShape& s) {
  return "N " + std::to_string(s.norm.batch) + " C " + std::to_string(s.norm.channels) + " L " +
         std::to_string(s.norm.length) + " kernel " + std::to_string(s.kernel) + " stride " +
         std::to_string(s.stride) + " padding " + std::to_string(s.padding);
}

// The unfused chain's outputs.
template <typename T>
struct Chain {
  std::vector<T> y, mean, invstd, dx, dgamma, dbeta;
};

template <typename T>
Chain<T> unfused(const BatchNormReluPoolShape& s, const std::vector<T>& x, const T* gamma,
                 const T* beta, const std::vector<T>& dy) {
  const size_t numel = x.size();
  const Pool1dShape p = s.pool();
  Chain<T> c;
  std::vector<T> z(numel), r(numel), dr(numel), dz(numel);
  std::vector<int64_t> index(dy.size());
  c.y.resize(dy.size()), c.mean.resize(s.norm.channels), c.invstd.resize(s.norm.channels);
  cpu::batch_norm_forward<T>({}, s.norm, x.data(), gamma, beta, kEps, z.data(), c.mean.data(),
                             c.invstd.data());
  cpu::unary<T>({}, UnaryOp::kRelu, static_cast<int64_t>(numel), z.data(), r.data(), 0, 0);
  cpu::max_pool1d<T>({}, p, r.data(), c.y.data(), index.data());
  cpu::max_pool1d_backward<T>({}, p, dy.data(), index.data(), dr.data());
  cpu::unary_backward<T>({}, UnaryOp::kRelu, static_cast<int64_t>(numel), dr.data(), z.data(),
                         r.data(), dz.data(), 0, 0);
  c.dx.resize(numel), c.dgamma.resize(s.norm.channels), c.dbeta.resize(s.norm.channels);
  cpu::batch_norm_backward<T>({}, s.norm, x.data(), dz.data(), gamma, c.mean.data(),
                              c.invstd.data(), c.dx.data(), c.dgamma.data(), c.dbeta.data());
  return c;
}

template <typename T>
class BatchNormReluPoolTest : public ::testing::Test {};
TYPED_TEST_SUITE(BatchNormReluPoolTest, KernelTypes);

TYPED_TEST(BatchNormReluPoolTest, EqualsTheUnfusedChainBitForBit) {
  using T = TypeParam;
  uint64_t seed = 1;
  for (const BatchNormReluPoolShape& s : shapes()) {
    for (bool affine : {true, false}) {
      SCOPED_TRACE(describe(s) + (affine ? " affine" : ""));
      const size_t numel = s.norm.batch * s.norm.channels * s.norm.length;
      const size_t out_numel = s.norm.batch * s.norm.channels * s.out_length();
      const auto x = random_vector<T>(numel, ++seed);
      const auto dy = random_vector<T>(out_numel, ++seed);
      const auto gamma = random_vector<T>(s.norm.channels, ++seed, 0.5, 2.0);
      const auto beta = random_vector<T>(s.norm.channels, ++seed);
      const T* g = affine ? gamma.data() : nullptr;
      const T* b = affine ? beta.data() : nullptr;
      const Chain<T> want = unfused(s, x, g, b, dy);

      std::vector<T> y(out_numel, T(NAN)), mean(s.norm.channels), invstd(s.norm.channels);
      std::vector<double> affine_buf(2 * s.norm.channels);
      cpu::batch_norm_relu_max_pool_forward<T>({}, s, x.data(), g, b, kEps, y.data(), mean.data(),
                                               invstd.data(), affine_buf.data());
      EXPECT_TRUE(all_close(y, to_double(want.y), 0, 0)) << "y";
      EXPECT_TRUE(all_close(mean, to_double(want.mean), 0, 0)) << "mean";
      EXPECT_TRUE(all_close(invstd, to_double(want.invstd), 0, 0)) << "invstd";

      std::vector<T> dx(numel, T(NAN)), dgamma(s.norm.channels), dbeta(s.norm.channels);
      cpu::batch_norm_relu_max_pool_backward<T>({}, s, x.data(), dy.data(), g, mean.data(),
                                                invstd.data(), affine_buf.data(), dx.data(),
                                                dgamma.data(), dbeta.data());
      EXPECT_TRUE(all_close(dx, to_double(want.dx), 0, 0)) << "dx";
      EXPECT_TRUE(all_close(dgamma, to_double(want.dgamma), 0, 0)) << "dgamma";
      EXPECT_TRUE(all_close(dbeta, to_double(want.dbeta), 0, 0)) << "dbeta";

      // Without dx the parameter gradients are the same (the kernel then keeps dz itself).
      std::vector<T> dgamma_only(s.norm.channels), dbeta_only(s.norm.channels);
      cpu::batch_norm_relu_max_pool_backward<T>({}, s, x.data(), dy.data(), g, mean.data(),
                                                invstd.data(), affine_buf.data(), nullptr,
                                                dgamma_only.data(), dbeta_only.data());
      EXPECT_TRUE(all_close(dgamma_only, to_double(want.dgamma), 0, 0)) << "dgamma without dx";
      EXPECT_TRUE(all_close(dbeta_only, to_double(want.dbeta), 0, 0)) << "dbeta without dx";
    }
  }
}

// The forward values from the definitions, in double: normalise with the batch statistics,
// rectify, take each window's maximum (padding never wins).
TEST(BatchNormReluPoolValues, MatchThePlainDefinition) {
  for (const BatchNormReluPoolShape& s : shapes()) {
    SCOPED_TRACE(describe(s));
    const BatchNormShape& b = s.norm;
    const auto x = random_vector<double>(b.batch * b.channels * b.length, 90);
    const auto gamma = random_vector<double>(b.channels, 91, 0.5, 2.0);
    const auto beta = random_vector<double>(b.channels, 92);
    const int64_t out_len = s.out_length();
    std::vector<double> expected(b.batch * b.channels * out_len);
    for (int64_t c = 0; c < b.channels; ++c) {
      double sum = 0, sq = 0;
      const double m = static_cast<double>(b.batch * b.length);
      for (int64_t n = 0; n < b.batch; ++n)
        for (int64_t l = 0; l < b.length; ++l) sum += x[(n * b.channels + c) * b.length + l];
      const double mu = sum / m;
      for (int64_t n = 0; n < b.batch; ++n)
        for (int64_t l = 0; l < b.length; ++l)
          sq += std::pow(x[(n * b.channels + c) * b.length + l] - mu, 2);
      const double inv = 1 / std::sqrt(sq / m + kEps);
      for (int64_t n = 0; n < b.batch; ++n) {
        for (int64_t t = 0; t < out_len; ++t) {
          double best = -std::numeric_limits<double>::infinity();
          for (int64_t k = 0; k < s.kernel; ++k) {
            const int64_t p = t * s.stride - s.padding + k;
            if (p < 0 || p >= b.length) continue;
            const double z =
                (x[(n * b.channels + c) * b.length + p] - mu) * inv * gamma[c] + beta[c];
            best = std::max(best, std::max(z, 0.0));
          }
          expected[(n * b.channels + c) * out_len + t] = best;
        }
      }
    }
    std::vector<double> y(expected.size(), NAN), mean(b.channels), invstd(b.channels),
        affine(2 * b.channels);
    cpu::batch_norm_relu_max_pool_forward<double>({}, s, x.data(), gamma.data(), beta.data(), kEps,
                                                  y.data(), mean.data(), invstd.data(),
                                                  affine.data());
    EXPECT_TRUE(all_close(y, expected, 1e-12, 1e-12));
  }
}

TEST(BatchNormReluPoolShape, BadPoolingShapeRaisesAnError) {
  std::vector<float> x(64), y(64), stats(8);
  std::vector<double> affine(16);
  STRAND_EXPECT_ERROR(cpu::batch_norm_relu_max_pool_forward<float>(
                          {}, shape(2, 4, 8, 3, 0, 0), x.data(), nullptr, nullptr, kEps, y.data(),
                          stats.data(), stats.data() + 4, affine.data()),
                      "pool1d: kernel 3 and stride 0 must be positive");
  STRAND_EXPECT_ERROR(cpu::batch_norm_relu_max_pool_forward<float>(
                          {}, shape(2, 4, 8, 9, 1, 0), x.data(), nullptr, nullptr, kEps, y.data(),
                          stats.data(), stats.data() + 4, affine.data()),
                      "pool1d: kernel 9 is longer than the padded input (8 + 2 x 0)");
}

}  // namespace
}  // namespace strand::kernels
