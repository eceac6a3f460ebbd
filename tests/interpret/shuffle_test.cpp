// Dinucleotide shuffles keep every dinucleotide count and both end bases exactly, differ from the
// input, and depend only on (seed, sequence, shuffle).
#include "interpret/shuffle.h"

#include <gtest/gtest.h>

#include <map>

#include "core/error.h"

namespace strand::interpret {
namespace {

std::map<std::pair<int, int>, int> dinucleotides(const uint8_t* s, int64_t n) {
  std::map<std::pair<int, int>, int> counts;
  for (int64_t i = 0; i + 1 < n; ++i) ++counts[{s[i], s[i + 1]}];
  return counts;
}

TEST(DinucleotideShuffle, PreservesCountsAndEnds) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = 2 + static_cast<int64_t>(rng() % 60);
    std::vector<uint8_t> seq(n);
    const int alphabet = trial % 3 == 0 ? 2 : 5;  // low-complexity runs too
    for (auto& c : seq) c = static_cast<uint8_t>(rng() % alphabet);
    const auto out = dinucleotide_shuffle(seq.data(), n, rng);
    ASSERT_EQ(out.size(), seq.size());
    EXPECT_EQ(out.front(), seq.front());
    EXPECT_EQ(out.back(), seq.back());
    EXPECT_EQ(dinucleotides(out.data(), n), dinucleotides(seq.data(), n)) << "trial " << trial;
  }
}

TEST(DinucleotideShuffle, SeededPerSequenceAndShuffle) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> codes(3 * 50);
  for (auto& c : codes) c = static_cast<uint8_t>(rng() % 4);
  const auto all = dinucleotide_shuffles(codes, 3, 50, 4, 42);
  // Sequence 2 alone, told its index, gets the same shuffles as in the batch.
  const std::vector<uint8_t> last(codes.begin() + 100, codes.end());
  const auto alone = dinucleotide_shuffles(last, 1, 50, 4, 42, 2);
  EXPECT_TRUE(std::equal(alone.begin(), alone.end(), all.begin() + 2 * 4 * 50));
  EXPECT_NE(dinucleotide_shuffles(codes, 3, 50, 4, 43), all);  // the seed matters
  // The shuffles of one sequence differ from it and from each other.
  const std::vector<uint8_t> s0(all.begin(), all.begin() + 50),
      s1(all.begin() + 50, all.begin() + 100);
  EXPECT_NE(s0, std::vector<uint8_t>(codes.begin(), codes.begin() + 50));
  EXPECT_NE(s0, s1);
}

TEST(DinucleotideShuffle, RejectsBadInput) {
  std::mt19937_64 rng(1);
  const std::vector<uint8_t> bad{0, 1, 7, 2};
  EXPECT_THROW(dinucleotide_shuffle(bad.data(), 4, rng), Error);
  EXPECT_THROW(dinucleotide_shuffles({0, 1, 2}, 1, 4, 2, 1), Error);
}

}  // namespace
}  // namespace strand::interpret
