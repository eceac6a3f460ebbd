// CPU batch normalisation kernels against a plain double-precision loop written from the formulas
// in batch_norm.h: training forward (batch statistics, biased variance), inference with given
// statistics, backward (dx, dgamma, dbeta, each optional), with and without the affine
// parameters, in float, double and bf16, over edge shapes (one element per channel, L = 1, odd).
#include "kernels/batch_norm/batch_norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/bfloat16.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

constexpr double kEps = 1e-5;

auto index_of(const BatchNormShape& s) {
  return [s](int64_t n, int64_t c, int64_t l) { return (n * s.channels + c) * s.length + l; };
}

struct Forward {
  std::vector<double> y, mean, invstd;
};

Forward forward_reference(const BatchNormShape& s, const std::vector<double>& x,
                          const std::vector<double>* gamma, const std::vector<double>* beta) {
  const auto at = index_of(s);
  const double m = static_cast<double>(s.batch * s.length);
  Forward r;
  r.y.resize(x.size());
  for (int64_t c = 0; c < s.channels; ++c) {
    double sum = 0, sq = 0;
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t l = 0; l < s.length; ++l) sum += x[at(n, c, l)];
    const double mu = sum / m;
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t l = 0; l < s.length; ++l) sq += (x[at(n, c, l)] - mu) * (x[at(n, c, l)] - mu);
    const double inv = 1.0 / std::sqrt(sq / m + kEps);
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t l = 0; l < s.length; ++l) {
        const double xhat = (x[at(n, c, l)] - mu) * inv;
        r.y[at(n, c, l)] = xhat * (gamma ? (*gamma)[c] : 1.0) + (beta ? (*beta)[c] : 0.0);
      }
    }
    r.mean.push_back(mu), r.invstd.push_back(inv);
  }
  return r;
}

struct Backward {
  std::vector<double> dx, dgamma, dbeta;
};

// From the statistics as given (the kernel reads them as the forward pass saved them).
Backward backward_reference(const BatchNormShape& s, const std::vector<double>& x,
                            const std::vector<double>& dy, const std::vector<double>* gamma,
                            const std::vector<double>& mean, const std::vector<double>& invstd) {
  const auto at = index_of(s);
  const double m = static_cast<double>(s.batch * s.length);
  Backward r;
  r.dx.resize(x.size());
  for (int64_t c = 0; c < s.channels; ++c) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t l = 0; l < s.length; ++l) {
        sum_dy += dy[at(n, c, l)];
        sum_dy_xhat += dy[at(n, c, l)] * (x[at(n, c, l)] - mean[c]) * invstd[c];
      }
    }
    const double k = (gamma ? (*gamma)[c] : 1.0) * invstd[c] / m;
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t l = 0; l < s.length; ++l) {
        const double xhat = (x[at(n, c, l)] - mean[c]) * invstd[c];
        r.dx[at(n, c, l)] = k * (m * dy[at(n, c, l)] - sum_dy - xhat * sum_dy_xhat);
      }
    }
    r.dgamma.push_back(sum_dy_xhat), r.dbeta.push_back(sum_dy);
  }
  return r;
}

template <typename T>
class BatchNormTest : public ::testing::Test {};
TYPED_TEST_SUITE(BatchNormTest, KernelTypes);

const std::vector<BatchNormShape>& shapes() {
  static const std::vector<BatchNormShape> s = {{1, 1, 1}, {2, 3, 1},  {1, 4, 33},
                                                {3, 5, 7}, {5, 2, 64}, {7, 3, 13}};
  return s;
}

TYPED_TEST(BatchNormTest, TrainingForwardAndBackwardMatchThePlainFormulas) {
  using T = TypeParam;
  const double tol = testing::kernel_tolerance<T>();
  uint64_t seed = 10;
  for (const BatchNormShape& s : shapes()) {
    for (bool affine : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "N " << s.batch << " C " << s.channels << " L "
                                        << s.length << (affine ? " affine" : " no affine"));
      const size_t numel = s.batch * s.channels * s.length;
      // An offset keeps the mean away from zero, so the statistics are really subtracted.
      const auto x = random_vector<T>(numel, ++seed, 0.5, 3.0);
      const auto dy = random_vector<T>(numel, ++seed);
      const auto gamma = random_vector<T>(s.channels, ++seed, 0.5, 2.0);
      const auto beta = random_vector<T>(s.channels, ++seed);
      const auto gd = to_double(gamma), bd = to_double(beta);
      const Forward r =
          forward_reference(s, to_double(x), affine ? &gd : nullptr, affine ? &bd : nullptr);
      const T* g = affine ? gamma.data() : nullptr;
      const T* b = affine ? beta.data() : nullptr;

      std::vector<T> y(numel, T(NAN)), mean(s.channels, T(NAN)), invstd(s.channels, T(NAN));
      cpu::batch_norm_forward<T>({}, s, x.data(), g, b, kEps, y.data(), mean.data(), invstd.data());
      EXPECT_TRUE(all_close(y, r.y, tol, tol)) << "y";
      EXPECT_TRUE(all_close(mean, r.mean, tol, tol)) << "mean";
      // With one element per channel the variance is 0 and invstd = 1/sqrt(eps) ~ 316.
      EXPECT_TRUE(all_close(invstd, r.invstd, tol, tol)) << "invstd";

      const Backward rb = backward_reference(s, to_double(x), to_double(dy), affine ? &gd : nullptr,
                                             to_double(mean), to_double(invstd));
      std::vector<T> dx(numel, T(NAN)), dgamma(s.channels, T(NAN)), dbeta(s.channels, T(NAN));
      cpu::batch_norm_backward<T>({}, s, x.data(), dy.data(), g, mean.data(), invstd.data(),
                                  dx.data(), dgamma.data(), dbeta.data());
      EXPECT_TRUE(all_close(dx, rb.dx, tol, tol)) << "dx";
      EXPECT_TRUE(all_close(dgamma, rb.dgamma, tol, tol)) << "dgamma";
      EXPECT_TRUE(all_close(dbeta, rb.dbeta, tol, tol)) << "dbeta";
    }
  }
}

TYPED_TEST(BatchNormTest, BackwardOutputsAreOptional) {
  using T = TypeParam;
  const BatchNormShape s{4, 3, 9};
  const size_t numel = s.batch * s.channels * s.length;
  const auto x = random_vector<T>(numel, 1), dy = random_vector<T>(numel, 2);
  const auto gamma = random_vector<T>(s.channels, 3, 0.5, 2.0);
  std::vector<T> y(numel), mean(s.channels), invstd(s.channels);
  cpu::batch_norm_forward<T>({}, s, x.data(), gamma.data(), nullptr, kEps, y.data(), mean.data(),
                             invstd.data());
  std::vector<T> dx_all(numel), dgamma_all(s.channels), dbeta_all(s.channels);
  cpu::batch_norm_backward<T>({}, s, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(),
                              dx_all.data(), dgamma_all.data(), dbeta_all.data());
  // Only dx; then only the parameter gradients: each equals the full call's bit for bit.
  std::vector<T> dx(numel);
  cpu::batch_norm_backward<T>({}, s, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(),
                              dx.data(), nullptr, nullptr);
  std::vector<T> dgamma(s.channels), dbeta(s.channels);
  cpu::batch_norm_backward<T>({}, s, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(),
                              nullptr, dgamma.data(), dbeta.data());
  EXPECT_TRUE(all_close(dx, dx_all, 0, 0));
  EXPECT_TRUE(all_close(dgamma, dgamma_all, 0, 0));
  EXPECT_TRUE(all_close(dbeta, dbeta_all, 0, 0));
}

TYPED_TEST(BatchNormTest, InferenceUsesTheGivenStatistics) {
  using T = TypeParam;
  const double tol = testing::kernel_tolerance<T>();
  for (const BatchNormShape& s : shapes()) {
    const size_t numel = s.batch * s.channels * s.length;
    const auto x = random_vector<T>(numel, 20);
    const auto gamma = random_vector<T>(s.channels, 21), beta = random_vector<T>(s.channels, 22);
    const auto mean = random_vector<T>(s.channels, 23);
    const auto var = random_vector<T>(s.channels, 24, 0.1, 2.0);
    for (bool affine : {true, false}) {
      std::vector<double> expected(numel);
      for (int64_t n = 0; n < s.batch; ++n) {
        for (int64_t c = 0; c < s.channels; ++c) {
          for (int64_t l = 0; l < s.length; ++l) {
            const size_t i = (n * s.channels + c) * s.length + l;
            const double xhat = (double(x[i]) - double(mean[c])) / std::sqrt(double(var[c]) + kEps);
            expected[i] = affine ? xhat * double(gamma[c]) + double(beta[c]) : xhat;
          }
        }
      }
      std::vector<T> y(numel, T(NAN));
      cpu::batch_norm_inference<T>({}, s, x.data(), affine ? gamma.data() : nullptr,
                                   affine ? beta.data() : nullptr, mean.data(), var.data(), kEps,
                                   y.data());
      EXPECT_TRUE(all_close(y, expected, tol, tol)) << "C " << s.channels << " L " << s.length;
    }
  }
}

}  // namespace
}  // namespace strand::kernels
