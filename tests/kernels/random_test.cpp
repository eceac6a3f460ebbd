// CPU random fills: element i is the plain formula of philox_uniform / philox_normal at (seed,
// offset, i) (philox_test.cpp checks the generator itself against known answers), so a draw is
// reproducible, prefix-stable and offset-addressable; the distributions have the asked-for range,
// mean and spread; the dropout mask holds only 0 and scale at the asked-for rate.
#include "kernels/random/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/kernels/kernel_test_support.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

template <typename T>
class RandomTest : public ::testing::Test {};
TYPED_TEST_SUITE(RandomTest, KernelTypes);

// Above the parallel threshold (1 << 14), odd, so threads split it unevenly.
constexpr int64_t kN = (1 << 16) + 7;

TYPED_TEST(RandomTest, EachElementIsTheGeneratorsValueAtItsIndex) {
  using T = TypeParam;
  const PhiloxState s{.seed = 1234, .offset = 5};
  std::vector<T> u(kN), z(kN), mask(kN);
  cpu::uniform<T>({}, kN, s, -2.0, 3.0, u.data());
  cpu::normal<T>({}, kN, s, 0.5, 2.0, z.data());
  cpu::bernoulli_mask<T>({}, kN, s, 0.7, 1 / 0.7, mask.data());
  for (int64_t i = 0; i < kN; ++i) {
    // The kernels compute in float and round to T once.
    ASSERT_EQ(static_cast<double>(u[i]),
              static_cast<double>(T(-2.0f + 5.0f * philox_uniform(s, i))))
        << i;
    ASSERT_EQ(static_cast<double>(z[i]), static_cast<double>(T(0.5f + 2.0f * philox_normal(s, i))))
        << i;
    ASSERT_EQ(static_cast<double>(mask[i]), philox_uniform(s, i) < 0.7f ? double(T(1 / 0.7)) : 0.0)
        << i;
  }
}

TYPED_TEST(RandomTest, DrawsAreReproduciblePrefixStableAndOffsetAddressable) {
  using T = TypeParam;
  const PhiloxState s{.seed = 99, .offset = 0};
  std::vector<T> a(kN), b(kN), prefix(5), shifted(kN - 40), other(kN);
  cpu::normal<T>({}, kN, s, 0, 1, a.data());
  cpu::normal<T>({}, kN, s, 0, 1, b.data());
  EXPECT_TRUE(all_close(a, to_double(b), 0, 0)) << "same state, same numbers";
  cpu::normal<T>({}, 5, s, 0, 1, prefix.data());
  EXPECT_TRUE(all_close(prefix, std::vector<double>(a.begin(), a.begin() + 5), 0, 0))
      << "a shorter draw is a prefix";
  // Offsets count 4-number blocks: offset 10 starts at element 40.
  cpu::normal<T>({}, kN - 40, {.seed = 99, .offset = 10}, 0, 1, shifted.data());
  EXPECT_TRUE(all_close(shifted, std::vector<double>(a.begin() + 40, a.end()), 0, 0))
      << "offset 10 continues at element 40";
  cpu::normal<T>({}, kN, {.seed = 100, .offset = 0}, 0, 1, other.data());
  int64_t equal = 0;
  for (int64_t i = 0; i < kN; ++i) equal += a[i] == other[i];
  EXPECT_LT(equal, kN / 100) << "another seed gives other numbers";
}

TYPED_TEST(RandomTest, DistributionsHaveTheirRangeMeanAndSpread) {
  using T = TypeParam;
  const double n = static_cast<double>(kN);
  std::vector<T> u(kN), z(kN), mask(kN);
  cpu::uniform<T>({}, kN, {.seed = 7}, 1.0, 3.0, u.data());
  cpu::normal<T>({}, kN, {.seed = 8}, -1.0, 0.5, z.data());
  cpu::bernoulli_mask<T>({}, kN, {.seed = 9}, 0.25, 4.0, mask.data());
  double u_sum = 0, z_sum = 0, z_sq = 0, kept = 0;
  for (int64_t i = 0; i < kN; ++i) {
    const double v = static_cast<double>(u[i]);
    // bf16 rounding may land exactly on the upper bound; float and double stay below it.
    EXPECT_TRUE(v >= 1.0 && (std::is_same_v<T, BFloat16> ? v <= 3.0 : v < 3.0)) << i << ": " << v;
    u_sum += v;
    z_sum += static_cast<double>(z[i]);
    z_sq += static_cast<double>(z[i]) * static_cast<double>(z[i]);
    const double m = static_cast<double>(mask[i]);
    EXPECT_TRUE(m == 0.0 || m == 4.0) << i << ": " << m;
    kept += m != 0.0;
  }
  // Five standard errors: uniform(1, 3) sd 0.577, normal sd 0.5, Bernoulli(0.25) sd 0.433.
  EXPECT_NEAR(u_sum / n, 2.0, 5 * 0.577 / std::sqrt(n));
  EXPECT_NEAR(z_sum / n, -1.0, 5 * 0.5 / std::sqrt(n));
  const double var = z_sq / n - (z_sum / n) * (z_sum / n);
  EXPECT_NEAR(std::sqrt(var), 0.5, 0.01);
  EXPECT_NEAR(kept / n, 0.25, 5 * 0.433 / std::sqrt(n));
}

}  // namespace
}  // namespace strand::kernels
