// Feature extraction: canonical k-mer counts, strand symmetry, scaling, GC and N fractions.
#include "rules/features.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/encoding.h"
#include "core/error.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

TEST(Features, CanonicalKmerCounts) {
  EXPECT_EQ(KmerSpectrum::canonical_count(1), 2);
  EXPECT_EQ(KmerSpectrum::canonical_count(2), 10);
  EXPECT_EQ(KmerSpectrum::canonical_count(3), 32);
  EXPECT_EQ(KmerSpectrum::canonical_count(6), 2080);
  EXPECT_EQ(KmerSpectrum(1, 6).dimension(), 2 + 10 + 32 + 136 + 512 + 2080);
}

TEST(Features, HandCountedSpectrumAndScale) {
  // ACGTT, k = 1: A/T -> 3 (A, T, T), C/G -> 2; 5 k-mers, scale 4 / (2 * 5) = 0.4.
  KmerSpectrum k1(1, 1);
  std::vector<SparseEntry> out;
  k1.extract("ACGTT", out);
  std::sort(out.begin(), out.end());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FLOAT_EQ(out[0].second + out[1].second, 5 * 0.4f);
  EXPECT_FLOAT_EQ(std::max(out[0].second, out[1].second), 3 * 0.4f);
}

TEST(Features, ReverseComplementGivesTheSameRow) {
  const std::vector<std::string> seqs = {"ACGGTTACGATNNACGTAGGCAT",
                                         data::reverse_complement("ACGGTTACGATNNACGTAGGCAT")};
  const auto m = extract_features(KmerSpectrum(1, 4), seqs);
  ASSERT_EQ(m.rows, 2);
  const auto d = m.dense();
  for (int64_t c = 0; c < m.cols; ++c) EXPECT_FLOAT_EQ(d[c], d[m.cols + c]) << c;
}

TEST(Features, GcAndUnknownFractions) {
  EXPECT_DOUBLE_EQ(gc_fraction("GGCCAT"), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(gc_fraction("ggNNat"), 0.5);
  EXPECT_DOUBLE_EQ(gc_fraction("NNNN"), 0.5);
  EXPECT_DOUBLE_EQ(unknown_fraction("ACNN"), 0.5);
  const std::vector<std::string> seqs = {"GGGG", "ATAT"};
  const auto m = extract_features(GcContent{}, seqs);
  EXPECT_EQ(m.dense(), (std::vector<float>{1.0f, 0.0f}));
}

TEST(Features, FlattenedOneHotAndPositionalDinucleotides) {
  const std::vector<std::string> seqs = {"ACGN", "TTAC"};
  const auto onehot = extract_features(OneHotFlat(4), seqs);
  EXPECT_EQ(onehot.cols, 16);
  EXPECT_EQ(onehot.dense(),
            (std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, .25f, .25f, .25f, .25f,
                                0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0,    1,    0,    0}));
  const auto dinuc = extract_features(PositionalDinucleotides(4), seqs);
  EXPECT_EQ(dinuc.cols, 48);
  // ACGN: AC at 0 (col 1), CG at 1 (16 + 6); GN skipped. TTAC: TT (15), TA (16 + 12), AC (32 + 1).
  EXPECT_EQ(std::vector<int32_t>(dinuc.col.begin(), dinuc.col.end()),
            (std::vector<int32_t>{1, 22, 15, 28, 33}));
  EXPECT_EQ(common_length(seqs), 4);
  EXPECT_EQ(common_length(std::vector<std::string>{"AC", "ACG"}), 0);
  try {
    extract_features(OneHotFlat(4), std::vector<std::string>{"ACGT", "ACG"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(),
                HasSubstr("sequence 1: flattened one-hot takes sequences of length 4, got one of "
                          "length 3"));
  }
}

TEST(Features, BadRangeRaises) {
  try {
    KmerSpectrum(3, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("1 <= kmin <= kmax <= 8, got 3..2"));
  }
}

}  // namespace
}  // namespace strand::rules
