// Built-in motifs, consensus-to-PWM conversion and log-odds scanning of both strands.
#include "data/motifs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "data/encoding.h"
#include "core/error.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(Motifs, ConsensusToPwmAndScanBothStrands) {
  const Motif m = motif_from_consensus("x", "ARN", 0.9);
  ASSERT_EQ(m.length(), 3);
  EXPECT_DOUBLE_EQ(m.pwm[0][0], 0.9);
  EXPECT_NEAR(m.pwm[0][1], 0.1 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(m.pwm[1][0], 0.45);
  EXPECT_DOUBLE_EQ(m.pwm[1][2], 0.45);
  EXPECT_DOUBLE_EQ(m.pwm[2][3], 0.25);
  const Motif& ctcf = builtin_motif("CTCF");
  const std::string site = "CCGCGAGGTGGCAG";
  const std::string bg(30, 'T');
  const auto fwd = encode_bases(bg + site + bg);
  const auto rev = encode_bases(bg + reverse_complement(site) + bg);
  const auto none = encode_bases(bg + bg);
  const double f = best_log_odds(ctcf, fwd.data(), fwd.size());
  EXPECT_NEAR(f, best_log_odds(ctcf, rev.data(), rev.size()), 1e-9);
  EXPECT_GT(f, best_log_odds(ctcf, none.data(), none.size()) + 10);
  EXPECT_THAT([] { motif_from_consensus("bad", "ACXT"); },
              ThrowsMessage<Error>(HasSubstr("'X' at position 2")));
}

TEST(Motifs, BuiltinSetRowsSumToOne) {
  ASSERT_GE(builtin_motifs().size(), 6u);
  for (const auto& m : builtin_motifs()) {
    EXPECT_EQ(m.length(), static_cast<int64_t>(m.consensus.size())) << m.name;
    for (const auto& row : m.pwm) EXPECT_NEAR(row[0] + row[1] + row[2] + row[3], 1.0, 1e-12);
  }
  EXPECT_EQ(builtin_motif("tata").name, "TATA");
}

TEST(Motifs, UnknownBasesAndShortSequencesNeverMatch) {
  const Motif& ebox = builtin_motif("EBOX");
  const auto with_n = encode_bases("CACNTG");
  EXPECT_TRUE(std::isinf(best_log_odds(ebox, with_n.data(), 6)));
  const auto shorter = encode_bases("CACG");
  EXPECT_TRUE(std::isinf(best_log_odds(ebox, shorter.data(), 4)));
}

}  // namespace
}  // namespace strand::data
