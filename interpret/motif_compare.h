// Motif-to-database comparison in the manner of TOMTOM (Gupta et al. 2007): column similarity by
// Pearson correlation of the four probabilities, at every offset and on both strands of the
// target; by default "complete" scores as TOMTOM's default: every query column counts, those
// off the target scored against the uniform background (Pearson 0), so a target that covers
// only part of the query is not favoured. p-values from the null distribution of the score,
// built per query column from its scores against every column of the database (both strands)
// and convolved over the columns scored (TOMTOM's approach; columns treated as independent);
// the best alignment's p-value corrected for the alignments tried; E = p x targets; q-values by
// Benjamini-Hochberg over the targets. With complete scores the null is convolved over every
// query column, which makes a partial overlap's p-value conservative (tests/interpret checks
// both: near uniform p-values for random queries when incomplete, never too many small ones
// when complete).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/motifs.h"

namespace strand::interpret {

using Pwm = std::vector<std::array<double, 4>>;  // [width][A, C, G, T]

struct CompareOptions {
  // Alignments overlapping fewer columns than this (clipped to the shorter motif) are not tried.
  int64_t min_overlap = 5;
  // Column scores are rounded to this step for the null distribution (and for the p-value of an
  // alignment; the reported score is exact).
  double bin = 0.025;
  // false: TOMTOM's -incomplete-scores, only the overlapping columns are scored (and the null
  // convolved over just those).
  bool complete = true;
};

struct MotifMatch {
  int64_t target = 0;  // index into the database
  char strand = '+';   // '-': the target's reverse complement aligned to the query
  // Position of the query's first column in the (strand-oriented) target; negative when the
  // query starts before it.
  int64_t offset = 0;
  int64_t overlap = 0;  // columns aligned
  double score = 0;     // sum of the column correlations over the overlap
  double p_value = 1;   // of the best alignment, corrected for the alignments tried
  double e_value = 0;   // p_value x database size
  double q_value = 1;   // Benjamini-Hochberg over the database's targets
};

// The reverse complement of a matrix (columns reversed, A<->T, C<->G).
Pwm reverse_complement(const Pwm& pwm);

class MotifComparator {
 public:
  explicit MotifComparator(std::vector<data::Motif> database, CompareOptions options = {});
  const std::vector<data::Motif>& database() const { return database_; }
  // Every target, best first (smallest p-value, then highest score).
  std::vector<MotifMatch> compare(const Pwm& query) const;

 private:
  std::vector<data::Motif> database_;
  CompareOptions options_;
  // Standardised columns ((p - 0.25) / sd, so Pearson = mean of products) of every target,
  // forward then reverse complement; first_[t] / first_rc_[t]: target t's first column.
  std::vector<std::array<double, 4>> columns_;
  std::vector<int64_t> first_, first_rc_;
};

}  // namespace strand::interpret
