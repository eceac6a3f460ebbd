// Rule 1, non-overlapping splits: finds sequences shared between splits (or within one) as exact
// duplicates, reverse-complement duplicates and near-duplicates on either strand. Near-duplicates
// come from MinHash sketches banded for locality-sensitive hashing (candidate pairs share both
// bins of at least one band), then verified by an identity estimate.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rules/minhash.h"
#include "rules/sequence_stream.h"

namespace strand::rules {

enum class PairKind { kExact, kReverseComplement, kNearDuplicate };
const char* pair_kind_name(PairKind kind);

// Which pairs to report: across different splits (leakage) or inside the same split.
enum class PairScope { kCrossSplit, kWithinSplit };

struct LeakageOptions {
  SketchOptions sketch;
  int rows_per_band = 2;       // bins per LSH band; bands = bins / rows_per_band
  double min_identity = 0.85;  // flag near-duplicates at or above this estimated identity
  int max_bucket = 64;         // a bucket larger than this pairs each member with its next 64
  PairScope scope = PairScope::kCrossSplit;
};

struct LeakPair {
  int64_t a = 0, b = 0;  // sequence indices, a < b
  PairKind kind = PairKind::kExact;
  double identity = 1.0;  // 1 for exact and reverse-complement duplicates
};

struct LeakageReport {
  std::vector<LeakPair> pairs;  // sorted by identity, highest first
  int64_t exact = 0, reverse_complement = 0, near_duplicate = 0;
  int64_t candidates = 0;  // LSH candidate pairs that were verified
  int64_t unsketched = 0;  // sequences with no valid k-mer (only exact matching applies)
};

// seqs[i] belongs to split[i] (any small integers). Pairs follow options.scope.
LeakageReport find_duplicates(std::span<const std::string> seqs, std::span<const int> split,
                              const LeakageOptions& options);

// The same on sequences read from a stream, with the same result. Memory holds the sketches
// (bins x 4 bytes a row) and a chunk of sequences being sketched; candidate pairs are then
// verified on their sequences alone, read again, in as many passes as the memory limit needs.
// `visit`, when given, also sees every sequence of the first pass (per-record statistics from
// the same read).
LeakageReport find_duplicates(const SequenceStream& seqs, std::span<const int> split,
                              const LeakageOptions& options,
                              const SequenceStream::Visit& visit = {});

// The identity a verified candidate is given: the better of the ungapped identity (equal lengths,
// either strand) and the identity implied by the exact canonical k-mer Jaccard.
double estimate_identity(std::string_view a, std::string_view b, int k);

// Indices to drop so no flagged pair remains: of each pair, the member whose split has the lower
// keep_rank[split] (e.g. train 0 < valid 1 < test 2 drops from train); ties drop the later index.
std::vector<int64_t> dedup_drop_list(const LeakageReport& report, std::span<const int> split,
                                     std::span<const int> keep_rank);

// A genomic interval of one split, for BED-based data.
struct GenomicInterval {
  std::string chrom;
  int64_t start = 0, end = 0;  // half-open, 0-based
  int split = 0;
};
struct IntervalOverlap {
  int64_t a = 0, b = 0;  // indices into the interval list, a < b
  int64_t overlap = 0;   // bases shared
};
// Overlapping intervals that belong to different splits.
std::vector<IntervalOverlap> cross_split_overlaps(std::span<const GenomicInterval> intervals);

}  // namespace strand::rules
