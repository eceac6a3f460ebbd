// CUDA random fills against the CPU kernels (random_test.cpp checks those against the Philox
// formulas) for the same (seed, offset), outputs poisoned first, every element checked, in
// float, double and bf16. Skips without a device.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "kernels/random/random.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

template <typename T>
class RandomCudaTest : public ::testing::Test {};
TYPED_TEST_SUITE(RandomCudaTest, KernelTypes);

TYPED_TEST(RandomCudaTest, DrawsMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  for (const int64_t n : {1, 7, 1000003}) {
    const PhiloxState s{.seed = 42 + static_cast<uint64_t>(n), .offset = 3};
    SCOPED_TRACE("n " + std::to_string(n));
    std::vector<T> u(n), z(n), mask(n);
    cpu::uniform<T>({}, n, s, -1.0, 2.0, u.data());
    cpu::normal<T>({}, n, s, 0.5, 2.0, z.data());
    cpu::bernoulli_mask<T>({}, n, s, 0.8, 1.25, mask.data());
    DeviceBuffer<T> d_u(n), d_z(n), d_mask(n);
    cuda::uniform<T>({}, n, s, -1.0, 2.0, d_u.get());
    cuda::normal<T>({}, n, s, 0.5, 2.0, d_z.get());
    cuda::bernoulli_mask<T>({}, n, s, 0.8, 1.25, d_mask.get());
    // The same 24-bit integers on both devices: the keep decision is identical.
    EXPECT_TRUE(all_close(d_mask.download(), to_double(mask), 0, 0)) << "mask";
    // Values are computed in float on both devices (f64 too), but lo + span * u may be one fused
    // multiply-add on the device, and Box-Muller's logf, cosf and sinf are CUDA's: a few float
    // ulp apart, which a bf16 rounding can turn into one bf16 step.
    const double tol =
        std::is_same_v<T, BFloat16> ? kernel_tolerance<BFloat16>() : kernel_tolerance<float>();
    EXPECT_TRUE(all_close(d_u.download(), to_double(u), tol, tol)) << "uniform";
    EXPECT_TRUE(all_close(d_z.download(), to_double(z), tol, tol)) << "normal";
  }
}

}  // namespace
}  // namespace strand::kernels
