// CUDA optimizer kernels against the CPU kernels (optim_test.cpp checks those against the update
// rules) on fresh random data, every element checked, in float, double and bf16: SGD variants
// and Adam/AdamW over several steps (state carried on each device), and clipping with the total
// living in device memory. Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/optim/optim.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

template <typename T>
class OptimCudaTest : public ::testing::Test {};
TYPED_TEST_SUITE(OptimCudaTest, KernelTypes);

constexpr int64_t kN = 300007;

TYPED_TEST(OptimCudaTest, SgdAndAdamStepsMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  // Three steps, each rounding the state to T on both sides: the differences can compound.
  const double tol = 3 * kernel_tolerance<T>();
  const auto p0 = random_vector<T>(kN, 1);
  for (const SgdConfig& c :
       {SgdConfig{.lr = 0.1, .momentum = 0.9, .dampening = 0.1},
        SgdConfig{.lr = 0.1, .momentum = 0.8, .weight_decay = 0.01, .nesterov = true},
        SgdConfig{.lr = 0.05, .weight_decay = 0.01}}) {
    SCOPED_TRACE(::testing::Message()
                 << "sgd momentum " << c.momentum << " nesterov " << c.nesterov);
    std::vector<T> p = p0, m(kN);
    DeviceBuffer<T> d_p(p0), d_m(kN);  // momentum poisoned: the first step must not read it
    for (int step = 0; step < 3; ++step) {
      const auto g = random_vector<T>(kN, 10 + step);
      DeviceBuffer<T> d_g(g);
      const bool with_momentum = c.momentum != 0;
      cpu::sgd_step<T>({}, kN, c, step == 0, p.data(), g.data(),
                       with_momentum ? m.data() : nullptr);
      cuda::sgd_step<T>({}, kN, c, step == 0, d_p.get(), d_g.get(),
                        with_momentum ? d_m.get() : nullptr);
    }
    EXPECT_TRUE(all_close(d_p.download(), to_double(p), tol, tol)) << "param";
    if (c.momentum != 0) EXPECT_TRUE(all_close(d_m.download(), to_double(m), tol, tol));
  }
  for (const AdamConfig& c :
       {AdamConfig{.lr = 1e-2, .weight_decay = 0.1},
        AdamConfig{.lr = 1e-2, .weight_decay = 0.1, .decoupled_weight_decay = true}}) {
    SCOPED_TRACE(::testing::Message() << "adam decoupled " << c.decoupled_weight_decay);
    std::vector<T> p = p0, m(kN, T(0)), v(kN, T(0));
    DeviceBuffer<T> d_p(p0), d_m(m), d_v(v);
    for (int64_t step = 1; step <= 3; ++step) {
      const auto g = random_vector<T>(kN, 20 + step);
      DeviceBuffer<T> d_g(g);
      cpu::adam_step<T>({}, kN, c, step, p.data(), g.data(), m.data(), v.data());
      cuda::adam_step<T>({}, kN, c, step, d_p.get(), d_g.get(), d_m.get(), d_v.get());
    }
    // Updates are lr-sized; their error is compared against lr.
    EXPECT_TRUE(all_close(d_p.download(), to_double(p), tol, tol * c.lr)) << "param";
    EXPECT_TRUE(all_close(d_m.download(), to_double(m), tol, tol)) << "exp_avg";
    EXPECT_TRUE(all_close(d_v.download(), to_double(v), tol, tol * 1e-3)) << "exp_avg_sq";
  }
}

TYPED_TEST(OptimCudaTest, ClippingWithATotalInDeviceMemoryMatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  const auto a = random_vector<T>(kN, 5), b = random_vector<T>(33, 6);
  double total = 0;
  cpu::accumulate_squares<T>({}, kN, a.data(), &total);
  cpu::accumulate_squares<T>({}, 33, b.data(), &total);
  DeviceBuffer<T> d_a(a), d_b(b);
  DeviceBuffer<double> d_total(std::vector<double>{0.0});
  cuda::accumulate_squares<T>({}, kN, d_a.get(), d_total.get());
  cuda::accumulate_squares<T>({}, 33, d_b.get(), d_total.get());
  // Both sum squares in double, in different orders.
  EXPECT_NEAR(d_total.download()[0], total, 1e-12 * total);

  for (double max_norm : {std::sqrt(total) / 3, 2 * std::sqrt(total)}) {
    std::vector<T> x = a;
    cpu::clip_by_total_norm<T>({}, kN, x.data(), &total, max_norm);
    DeviceBuffer<double> d_cpu_total(std::vector<double>{total});
    DeviceBuffer<T> d_x(a);
    cuda::clip_by_total_norm<T>({}, kN, d_x.get(), d_cpu_total.get(), max_norm);
    EXPECT_TRUE(all_close(d_x.download(), to_double(x), tol, tol)) << "max_norm " << max_norm;
  }
}

}  // namespace
}  // namespace strand::kernels
