// The IUPAC rule, u8 codes, 2-bit packing, one-hot and the reverse complement of each.
#include "data/encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> random_codes(int64_t n, uint64_t seed, bool with_unknown) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int> d(0, with_unknown ? 4 : 3);
  std::vector<uint8_t> out(n);
  for (auto& c : out) c = static_cast<uint8_t>(d(gen));
  return out;
}

TEST(Encoding, IupacRuleMapsEveryLetter) {
  EXPECT_EQ(encode_bases("ACGTacgt"), (std::vector<uint8_t>{0, 1, 2, 3, 0, 1, 2, 3}));
  for (char c : std::string("NnRYSWKMBDHVryswkmbdhv.-")) {
    EXPECT_EQ(base_code(c), kBaseUnknown) << c;
  }
  for (char c : std::string("UuXxEJ0 *\t")) EXPECT_EQ(base_code(c), kBaseInvalid) << c;
}

TEST(Encoding, NonIupacNamesRecordAndPosition) {
  try {
    encode_bases("ACGTXACG", "chr2");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("record 'chr2' position 4"));
    EXPECT_THAT(e.message(), HasSubstr("'X'"));
  }
  std::vector<uint8_t> out(3);
  EXPECT_THAT([&] { encode_bases("AC\x01", out.data(), "r", 1000); },
              ::testing::ThrowsMessage<Error>(HasSubstr("position 1002: byte 0x01")));
}

TEST(Encoding, ReverseComplementOfCodesAndText) {
  const auto codes = encode_bases("AACGTN");
  std::vector<uint8_t> rc(codes.size());
  reverse_complement_codes(codes.data(), 6, rc.data());
  EXPECT_EQ(decode_bases(rc.data(), 6), "NACGTT");
  // In place, odd and even lengths.
  auto odd = encode_bases("ACGTA");
  reverse_complement_codes(odd.data(), 5, odd.data());
  EXPECT_EQ(decode_bases(odd.data(), 5), "TACGT");
  EXPECT_EQ(reverse_complement("AcgRYn"), "nRYcgT");
  const auto r = random_codes(101, 1, true);
  auto twice = r;
  reverse_complement_codes(twice.data(), 101, twice.data());
  reverse_complement_codes(twice.data(), 101, twice.data());
  EXPECT_EQ(twice, r);
}

TEST(Encoding, OneHotChannelsFirstWithQuarterForUnknown) {
  const auto codes = encode_bases("ACGTN");
  const auto oh = one_hot(codes);
  ASSERT_EQ(oh.size(), 20u);
  for (int c = 0; c < 4; ++c) {
    for (int i = 0; i < 4; ++i) EXPECT_EQ(oh[c * 5 + i], c == i ? 1.0f : 0.0f);
    EXPECT_EQ(oh[c * 5 + 4], 0.25f);
  }
}

TEST(Encoding, OneHotReverseComplementMatchesCodes) {
  const auto codes = random_codes(257, 3, true);
  std::vector<uint8_t> rc(codes.size());
  reverse_complement_codes(codes.data(), 257, rc.data());
  const auto oh = one_hot(codes);
  std::vector<float> oh_rc(oh.size());
  reverse_complement_one_hot(oh.data(), 257, oh_rc.data());
  EXPECT_EQ(oh_rc, one_hot(rc));
}

}  // namespace
}  // namespace strand::data
