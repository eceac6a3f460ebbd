// Philox 4x32-10 against the published known-answer vectors of Random123 (kat_vectors), and the
// counter layout strand's draws rely on.
#include "kernels/random/philox.h"

#include <gtest/gtest.h>

namespace strand::kernels {
namespace {

TEST(Philox, ZeroCounterZeroKeyMatchesRandom123KnownAnswer) {
  const Philox4 out = philox4x32_10(0, 0);
  EXPECT_EQ(out.v[0], 0x6627e8d5u);
  EXPECT_EQ(out.v[1], 0xe169c58du);
  EXPECT_EQ(out.v[2], 0xbc57ac4cu);
  EXPECT_EQ(out.v[3], 0x9b00dbd8u);
}

TEST(Philox, MatchesRandom123KnownAnswersForFullCounters) {
  const Philox4 ones = philox4x32_10(Philox4{{~0u, ~0u, ~0u, ~0u}}, ~0u, ~0u);
  EXPECT_EQ(ones.v[0], 0x408f276du);
  EXPECT_EQ(ones.v[1], 0x41c83b0eu);
  EXPECT_EQ(ones.v[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.v[3], 0x6d5451fdu);
  const Philox4 pi = philox4x32_10(Philox4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                                   0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(pi.v[0], 0xd16cfe09u);
  EXPECT_EQ(pi.v[1], 0x94fdccebu);
  EXPECT_EQ(pi.v[2], 0x5001e420u);
  EXPECT_EQ(pi.v[3], 0x24126ea1u);
}

TEST(Philox, ElementsUseConsecutiveLanesThenBlocks) {
  const PhiloxState s{42, 7};
  const Philox4 block = philox4x32_10(7, 42);
  const Philox4 next = philox4x32_10(8, 42);
  for (int lane = 0; lane < 4; ++lane) {
    EXPECT_EQ(philox_u32(s, lane), block.v[lane]);
    EXPECT_EQ(philox_u32(s, 4 + lane), next.v[lane]);
  }
}

TEST(Philox, UniformAndNormalHaveTheRightMoments) {
  const PhiloxState s{2024, 0};
  const int n = 200000;
  double sum_u = 0, sum_n = 0, sum_n2 = 0;
  for (int i = 0; i < n; ++i) {
    const float u = philox_uniform(s, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum_u += u;
    const double z = philox_normal(s, i);
    ASSERT_TRUE(std::isfinite(z));
    sum_n += z, sum_n2 += z * z;
  }
  EXPECT_NEAR(sum_u / n, 0.5, 0.005);
  EXPECT_NEAR(sum_n / n, 0.0, 0.01);
  EXPECT_NEAR(sum_n2 / n, 1.0, 0.02);
}

}  // namespace
}  // namespace strand::kernels
