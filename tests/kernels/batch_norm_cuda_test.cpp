// CUDA batch normalisation against the CPU kernels (batch_norm_test.cpp checks those against
// the formulas) on fresh random data, every output poisoned with NaN first and every element
// checked, in float, double and bf16: training forward, inference, backward with each output
// optional. Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/batch_norm/batch_norm.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

constexpr double kEps = 1e-5;

template <typename T>
class BatchNormCudaTest : public ::testing::Test {};
TYPED_TEST_SUITE(BatchNormCudaTest, KernelTypes);

TYPED_TEST(BatchNormCudaTest, MatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 1;
  // One element per channel, L = 1, odd, and channels longer than a block (256 threads).
  for (const BatchNormShape s : {BatchNormShape{1, 1, 1}, BatchNormShape{2, 3, 1},
                                 BatchNormShape{3, 5, 7}, BatchNormShape{8, 6, 129}}) {
    // The device normalises with the statistics as stored in T, the CPU with its double ones: in
    // bf16 the stored mean is off by up to 2^-9 of itself, which two close values per channel
    // (M = 2) turn into a large error after scaling by their large invstd.
    if (std::is_same_v<T, BFloat16> && s.batch * s.length == 2) continue;
    for (bool affine : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "N " << s.batch << " C " << s.channels << " L "
                                        << s.length << (affine ? " affine" : ""));
      const size_t numel = s.batch * s.channels * s.length;
      // The device sums M = N * L terms in float in another order: errors of sums scale with
      // sqrt(M) (dx subtracts such sums from M * dy before scaling by 1 / M).
      const double sum_tol = tol * std::sqrt(static_cast<double>(s.batch * s.length));
      const auto x = random_vector<T>(numel, ++seed), dy = random_vector<T>(numel, ++seed);
      const auto gamma = random_vector<T>(s.channels, ++seed, 0.5, 2.0);
      const auto beta = random_vector<T>(s.channels, ++seed);
      const auto var = random_vector<T>(s.channels, ++seed, 0.2, 2.0);
      const T* g = affine ? gamma.data() : nullptr;
      const T* b = affine ? beta.data() : nullptr;
      std::vector<T> y(numel), mean(s.channels), invstd(s.channels), yi(numel), dx(numel),
          dgamma(s.channels), dbeta(s.channels);
      cpu::batch_norm_forward<T>({}, s, x.data(), g, b, kEps, y.data(), mean.data(), invstd.data());
      cpu::batch_norm_inference<T>({}, s, x.data(), g, b, mean.data(), var.data(), kEps, yi.data());
      cpu::batch_norm_backward<T>({}, s, x.data(), dy.data(), g, mean.data(), invstd.data(),
                                  dx.data(), dgamma.data(), dbeta.data());

      DeviceBuffer<T> d_x(x), d_dy(dy), d_gamma(gamma), d_beta(beta), d_var(var);
      DeviceBuffer<T> d_y(numel), d_mean(s.channels), d_invstd(s.channels);
      const T* dg = affine ? d_gamma.get() : nullptr;
      const T* db = affine ? d_beta.get() : nullptr;
      cuda::batch_norm_forward<T>({}, s, d_x.get(), dg, db, kEps, d_y.get(), d_mean.get(),
                                  d_invstd.get());
      EXPECT_TRUE(all_close(d_y.download(), to_double(y), tol, sum_tol)) << "y";
      EXPECT_TRUE(all_close(d_mean.download(), to_double(mean), tol, sum_tol)) << "mean";
      EXPECT_TRUE(all_close(d_invstd.download(), to_double(invstd), tol, sum_tol)) << "invstd";

      // Inference and backward read the CPU's statistics, so each is checked on its own.
      DeviceBuffer<T> d_cpu_mean(mean), d_cpu_invstd(invstd), d_yi(numel);
      cuda::batch_norm_inference<T>({}, s, d_x.get(), dg, db, d_cpu_mean.get(), d_var.get(), kEps,
                                    d_yi.get());
      EXPECT_TRUE(all_close(d_yi.download(), to_double(yi), tol, tol)) << "inference";

      DeviceBuffer<T> d_dx(numel), d_dgamma(s.channels), d_dbeta(s.channels);
      cuda::batch_norm_backward<T>({}, s, d_x.get(), d_dy.get(), dg, d_cpu_mean.get(),
                                   d_cpu_invstd.get(), d_dx.get(), d_dgamma.get(), d_dbeta.get());
      EXPECT_TRUE(all_close(d_dx.download(), to_double(dx), tol, sum_tol)) << "dx";
      EXPECT_TRUE(all_close(d_dgamma.download(), to_double(dgamma), tol, sum_tol)) << "dgamma";
      EXPECT_TRUE(all_close(d_dbeta.download(), to_double(dbeta), tol, sum_tol)) << "dbeta";

      // Each backward output is optional: the others still come out.
      DeviceBuffer<T> d_dx_only(numel), d_dgamma_only(s.channels);
      cuda::batch_norm_backward<T>({}, s, d_x.get(), d_dy.get(), dg, d_cpu_mean.get(),
                                   d_cpu_invstd.get(), d_dx_only.get(), nullptr, nullptr);
      cuda::batch_norm_backward<T>({}, s, d_x.get(), d_dy.get(), dg, d_cpu_mean.get(),
                                   d_cpu_invstd.get(), nullptr, d_dgamma_only.get(), nullptr);
      EXPECT_TRUE(all_close(d_dx_only.download(), to_double(dx), tol, sum_tol)) << "dx only";
      EXPECT_TRUE(all_close(d_dgamma_only.download(), to_double(dgamma), tol, sum_tol))
          << "dgamma only";
    }
  }
}

}  // namespace
}  // namespace strand::kernels
