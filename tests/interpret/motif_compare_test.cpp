// The TOMTOM-like comparison on JASPAR itself: every motif finds itself first, its reverse
// complement on the '-' strand, and shuffled motifs get roughly uniform p-values.
#include "interpret/motif_compare.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "data/meme.h"
#include "data/random.h"

namespace strand::interpret {
namespace {

const std::vector<data::Motif>& jaspar() {
  static const auto file = data::read_meme(
      std::string(STRAND_SOURCE_DIR) + "/data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme");
  return file.motifs;
}

const MotifComparator& comparator() {
  static const MotifComparator c(jaspar());
  return c;
}

// The rank of target t among matches (ties with a better-listed match share its rank).
size_t rank_of(const std::vector<MotifMatch>& matches, int64_t t) {
  for (size_t k = 0; k < matches.size(); ++k) {
    if (matches[k].target != t) continue;
    size_t r = k;
    while (r > 0 && matches[r - 1].p_value == matches[k].p_value &&
           matches[r - 1].score == matches[k].score)
      --r;
    return r;
  }
  return matches.size();
}

TEST(MotifCompare, EveryJasparMotifMatchesItselfFirstOnBothStrands) {
  const auto& db = jaspar();
  // Every sixth motif, forward and reverse complement: 340 queries against 1019 targets.
  int queries = 0, significant = 0;
  for (size_t t = 0; t < db.size(); t += 6) {
    const auto fwd = comparator().compare(db[t].pwm);
    ASSERT_EQ(fwd.size(), db.size());
    EXPECT_EQ(rank_of(fwd, static_cast<int64_t>(t)), 0u) << db[t].name << " " << db[t].alt_name;
    const MotifMatch& self = *std::find_if(fwd.begin(), fwd.end(), [&](const MotifMatch& m) {
      return m.target == static_cast<int64_t>(t);
    });
    EXPECT_EQ(self.strand, '+');
    EXPECT_EQ(self.offset, 0);
    EXPECT_EQ(self.overlap, db[t].length());
    ++queries;
    significant += self.q_value < 0.05;
    const auto rev = comparator().compare(reverse_complement(db[t].pwm));
    EXPECT_EQ(rank_of(rev, static_cast<int64_t>(t)), 0u) << db[t].name;
    const MotifMatch& back = *std::find_if(rev.begin(), rev.end(), [&](const MotifMatch& m) {
      return m.target == static_cast<int64_t>(t);
    });
    // A palindrome matches equally on both strands; otherwise the '-' strand must be reported.
    if (back.strand == '+') {
      EXPECT_NEAR(back.score, self.score, 1e-9) << db[t].name;
    }
  }
  // Short, low-information motifs (6 bp SOX sites) can match themselves with q above 0.05: many
  // targets score as well by chance.
  EXPECT_GE(significant, queries * 95 / 100);
  // A non-palindromic motif reports '-' for its reverse complement (CTCF).
  const auto& ctcf = data::find_motif(db, "MA0139.2", "jaspar");
  const int64_t ctcf_index = &ctcf - db.data();
  const auto rev = comparator().compare(reverse_complement(ctcf.pwm));
  EXPECT_EQ(rev[0].target, ctcf_index);
  EXPECT_EQ(rev[0].strand, '-');
  EXPECT_EQ(rev[0].offset, 0);
}

// p-values of every target for queries made of database columns drawn at random (each column's
// null is then exact; the sum's assumes independent columns).
std::vector<double> shuffled_p_values(const MotifComparator& comparator) {
  std::vector<std::array<double, 4>> columns;
  for (const auto& m : jaspar())
    for (const auto& row : m.pwm) columns.push_back(row);
  data::SplitMix64 rng(7);
  std::vector<double> p;
  for (int q = 0; q < 20; ++q) {
    Pwm query;
    const int64_t w = 8 + rng.below(8);
    for (int64_t i = 0; i < w; ++i)
      query.push_back(columns[rng.below(static_cast<int64_t>(columns.size()))]);
    for (const auto& m : comparator.compare(query)) p.push_back(m.p_value);
  }
  return p;
}

double fraction_below(const std::vector<double>& p, double x) {
  return static_cast<double>(std::count_if(p.begin(), p.end(), [&](double v) { return v < x; })) /
         static_cast<double>(p.size());
}

TEST(MotifCompare, ShuffledMotifsGetRoughlyUniformPValues) {
  // Scoring only the overlap, the null is the score's own: near uniform. Loose bounds: columns
  // of real motifs are not independent, and the p-values of one query share its columns.
  const MotifComparator incomplete(jaspar(), {.complete = false});
  const auto p = shuffled_p_values(incomplete);
  EXPECT_GT(fraction_below(p, 0.5), 0.3);
  EXPECT_LT(fraction_below(p, 0.5), 0.7);
  EXPECT_GT(fraction_below(p, 0.1), 0.03);
  EXPECT_LT(fraction_below(p, 0.1), 0.2);
  EXPECT_LT(fraction_below(p, 0.01), 0.03);
  // Complete scores (the default) judge a partial overlap against the whole query's null:
  // conservative, never more small p-values than chance gives.
  const auto c = shuffled_p_values(comparator());
  for (double alpha : {0.01, 0.1, 0.5}) EXPECT_LT(fraction_below(c, alpha), 1.2 * alpha) << alpha;
  EXPECT_GT(fraction_below(c, 0.5), 0.05);
  for (double v : c) {
    EXPECT_GE(v, 0);
    EXPECT_LE(v, 1);
  }
}

TEST(MotifCompare, QValuesAreMonotoneAndBadInputIsRefused) {
  const auto matches = comparator().compare(jaspar()[0].pwm);
  for (size_t k = 1; k < matches.size(); ++k) {
    EXPECT_LE(matches[k - 1].p_value, matches[k].p_value);
    EXPECT_LE(matches[k - 1].q_value, matches[k].q_value);
    EXPECT_GE(matches[k].q_value, matches[k].p_value);
  }
  EXPECT_THROW(comparator().compare({}), Error);
  EXPECT_THROW(MotifComparator({}), Error);
}

}  // namespace
}  // namespace strand::interpret
