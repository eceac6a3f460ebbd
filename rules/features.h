// Sequence features for the traditional baselines: a sparse feature matrix and extractors that
// fill it. K-mer spectra serve unaligned tasks; position-specific extractors (flattened one-hot,
// positional dinucleotides) can implement the same FeatureExtractor interface for aligned ones.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strand::rules {

// Row-major compressed sparse rows of float values.
struct FeatureMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> row_ptr{0};
  std::vector<int32_t> col;
  std::vector<float> val;

  // Dense copy, row-major rows x cols.
  std::vector<float> dense() const;
};

// One (column, value) entry of a row.
using SparseEntry = std::pair<int32_t, float>;

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;
  virtual std::string name() const = 0;
  virtual int64_t dimension() const = 0;
  // Appends the non-zero features of one sequence (any column order, no repeats).
  virtual void extract(std::string_view seq, std::vector<SparseEntry>& out) const = 0;
};

// Extracts every sequence (in parallel) into one matrix.
FeatureMatrix extract_features(const FeatureExtractor& extractor,
                               std::span<const std::string> seqs);

// Counts of canonical (reverse-complement collapsed) k-mers for k in [kmin, kmax], each block
// scaled to observed / expected under uniform base composition, so features are O(1) whatever
// the sequence length and k (zeros stay zeros, keeping the matrix sparse). Windows with N skip.
class KmerSpectrum : public FeatureExtractor {
 public:
  KmerSpectrum(int kmin, int kmax);
  std::string name() const override;
  int64_t dimension() const override { return dimension_; }
  void extract(std::string_view seq, std::vector<SparseEntry>& out) const override;
  // Number of canonical k-mers of length k: (4^k + 4^(k/2) [k even]) / 2.
  static int64_t canonical_count(int k);

 private:
  int kmin_, kmax_;
  int64_t dimension_ = 0;
  std::vector<int64_t> offset_;               // first column of each k's block
  std::vector<std::vector<int32_t>> column_;  // per k: k-mer code -> column within the block
};

// Position-specific representations for aligned, fixed-length input (Rule 5): column
// position * 4 + base is 1 where that base sits there (an unknown base: 0.25 in each of the four,
// as the models see it). Sequences of another length are an error naming the length.
class OneHotFlat : public FeatureExtractor {
 public:
  explicit OneHotFlat(int64_t length);
  std::string name() const override;
  int64_t dimension() const override { return 4 * length_; }
  void extract(std::string_view seq, std::vector<SparseEntry>& out) const override;

 private:
  int64_t length_;
};

// Positional dinucleotides: column position * 16 + first * 4 + second is 1 where that pair of
// bases starts at position (length - 1 positions; a pair with an unknown base is all zero).
class PositionalDinucleotides : public FeatureExtractor {
 public:
  explicit PositionalDinucleotides(int64_t length);
  std::string name() const override;
  int64_t dimension() const override { return 16 * (length_ - 1); }
  void extract(std::string_view seq, std::vector<SparseEntry>& out) const override;

 private:
  int64_t length_;
};

// The one length every sequence has, or 0 when lengths differ (or there are none).
int64_t common_length(std::span<const std::string> seqs);

// One feature: the G+C fraction of the A/C/G/T bases (0.5 when there are none).
class GcContent : public FeatureExtractor {
 public:
  std::string name() const override { return "gc"; }
  int64_t dimension() const override { return 1; }
  void extract(std::string_view seq, std::vector<SparseEntry>& out) const override;
};

// G+C fraction of the A/C/G/T bases of seq (0.5 when there are none), and the N fraction.
double gc_fraction(std::string_view seq);
double unknown_fraction(std::string_view seq);

}  // namespace strand::rules
