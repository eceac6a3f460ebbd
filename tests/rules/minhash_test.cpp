// MinHash sketches: strand symmetry, Jaccard estimates and the identity they imply.
#include "rules/minhash.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "data/encoding.h"
#include "core/error.h"
#include "tests/rules/dna.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;
using testing::random_dna;
using testing::substitute;

TEST(MinHash, ReverseComplementHasTheSameKmersAndSketch) {
  std::mt19937_64 rng(1);
  const auto s = random_dna(rng, 500);
  const auto rc = data::reverse_complement(s);
  EXPECT_EQ(canonical_kmers(s, 12), canonical_kmers(rc, 12));
  SketchOptions o;
  std::vector<uint32_t> a(o.bins), b(o.bins);
  ASSERT_TRUE(minhash_sketch(s, o, a.data()));
  ASSERT_TRUE(minhash_sketch(rc, o, b.data()));
  EXPECT_EQ(a, b);
}

TEST(MinHash, HandCountedCanonicalKmers) {
  // 2-mers of ACGTT: AC (rc GT), CG (rc CG), GT (rc AC), TT (rc AA) -> {AA, AC, CG} = {0, 1, 6}.
  EXPECT_EQ(canonical_kmers("ACGTT", 2), (std::vector<uint64_t>{0, 1, 6}));
  // N breaks the window.
  EXPECT_EQ(canonical_kmers("ANC", 2), (std::vector<uint64_t>{}));
}

TEST(MinHash, SketchEstimatesJaccardAndIdentity) {
  std::mt19937_64 rng(2);
  const auto s = random_dna(rng, 1000);
  const auto m = substitute(rng, s, 100);  // 90% identity
  const auto u = random_dna(rng, 1000);
  SketchOptions o;
  std::vector<uint32_t> a(o.bins), b(o.bins), c(o.bins);
  minhash_sketch(s, o, a.data());
  minhash_sketch(m, o, b.data());
  minhash_sketch(u, o, c.data());
  const double exact = kmer_jaccard(canonical_kmers(s, 12), canonical_kmers(m, 12));
  EXPECT_NEAR(sketch_jaccard(a, b), exact, 0.08);
  EXPECT_LT(sketch_jaccard(a, c), 0.03);
  EXPECT_NEAR(identity_from_jaccard(exact, 12), 0.90, 0.02);
  EXPECT_DOUBLE_EQ(ungapped_identity(s, m), 0.90);
  EXPECT_DOUBLE_EQ(ungapped_identity(s, data::reverse_complement(m)), 0.90);
  EXPECT_DOUBLE_EQ(ungapped_identity(s, "ACGT"), -1.0);
  EXPECT_DOUBLE_EQ(identity_from_jaccard(1.0, 12), 1.0);
  EXPECT_DOUBLE_EQ(identity_from_jaccard(0.0, 12), 0.0);
}

TEST(MinHash, ShortOrAllNSequencesHaveNoSketch) {
  SketchOptions o;
  std::vector<uint32_t> a(o.bins);
  EXPECT_FALSE(minhash_sketch("ACGTNNNN", o, a.data()));
  o.k = 40;
  try {
    minhash_sketch("ACGT", o, a.data());
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("k-mer length must be in [1, 31], got 40"));
  }
}

}  // namespace
}  // namespace strand::rules
