// Feature matrices and the k-mer spectrum and GC extractors; see features.h.
#include "rules/features.h"

#include <algorithm>
#include <cmath>

#include "core/checked.h"
#include "core/error.h"
#include "data/encoding.h"

namespace strand::rules {

std::vector<float> FeatureMatrix::dense() const {
  std::vector<float> out(static_cast<size_t>(rows) * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = row_ptr[r]; i < row_ptr[r + 1]; ++i) out[r * cols + col[i]] = val[i];
  return out;
}

FeatureMatrix extract_features(const FeatureExtractor& extractor,
                               std::span<const std::string> seqs) {
  const auto n = static_cast<int64_t>(seqs.size());
  // At most one entry per base (one-hot; k-mer spectra have fewer), held twice while the rows are
  // gathered into the matrix, beside the sequences: checked before anything is allocated.
  uint64_t bases = 0;
  for (const auto& s : seqs) bases += s.size();
  check_memory(bases * (1 + 2 * sizeof(SparseEntry)),
               format("features of {} sequences ({} bases)", n, bases));
  std::vector<std::vector<SparseEntry>> rows(n);
  // An exception must not leave an OpenMP region: the first error is kept and thrown after it.
  std::vector<std::string> errors(n);
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < n; ++i) {
    try {
      extractor.extract(seqs[i], rows[i]);
      std::sort(rows[i].begin(), rows[i].end());
    } catch (const Error& e) {
      errors[i] = e.message();
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  for (int64_t i = 0; i < n; ++i) STRAND_CHECK(errors[i].empty(), "sequence {}: {}", i, errors[i]);
  FeatureMatrix m;
  m.rows = n;
  m.cols = extractor.dimension();
  m.row_ptr.resize(n + 1);
  for (int64_t i = 0; i < n; ++i) m.row_ptr[i + 1] = m.row_ptr[i] + rows[i].size();
  m.col.resize(m.row_ptr[n]);
  m.val.resize(m.row_ptr[n]);
  for (int64_t i = 0; i < n; ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) {
      m.col[m.row_ptr[i] + j] = rows[i][j].first;
      m.val[m.row_ptr[i] + j] = rows[i][j].second;
    }
  return m;
}

int64_t KmerSpectrum::canonical_count(int k) {
  const int64_t all = int64_t{1} << (2 * k);
  const int64_t palindromes = k % 2 == 0 ? int64_t{1} << k : 0;
  return (all + palindromes) / 2;
}

KmerSpectrum::KmerSpectrum(int kmin, int kmax) : kmin_(kmin), kmax_(kmax) {
  STRAND_CHECK(kmin >= 1 && kmin <= kmax && kmax <= 8,
               "k-mer spectrum needs 1 <= kmin <= kmax <= 8, got {}..{}", kmin, kmax);
  for (int k = kmin; k <= kmax; ++k) {
    offset_.push_back(dimension_);
    const int64_t all = int64_t{1} << (2 * k);
    std::vector<int32_t> col(all, -1);
    int32_t next = 0;
    for (int64_t code = 0; code < all; ++code) {
      int64_t rc = 0, x = code;
      for (int i = 0; i < k; ++i, x >>= 2) rc = (rc << 2) | (3 - (x & 3));
      const int64_t canon = std::min(code, rc);
      if (col[canon] < 0) col[canon] = next++;
      col[code] = col[canon];
    }
    STRAND_CHECK(next == canonical_count(k), "canonical k-mer count mismatch for k = {}", k);
    column_.push_back(std::move(col));
    dimension_ += next;
  }
}

std::string KmerSpectrum::name() const {
  return strand::format("kmer{}-{} (reverse-complement collapsed, observed/expected)", kmin_,
                        kmax_);
}

void KmerSpectrum::extract(std::string_view seq, std::vector<SparseEntry>& out) const {
  std::vector<uint8_t> codes(seq.size());
  for (size_t i = 0; i < seq.size(); ++i) codes[i] = data::base_code(seq[i]);
  std::vector<float> counts;
  for (int k = kmin_; k <= kmax_; ++k) {
    const auto& column = column_[k - kmin_];
    const int64_t block = canonical_count(k);
    counts.assign(block, 0.0f);
    const uint32_t mask = (1u << (2 * k)) - 1;
    uint32_t code = 0;
    int valid = 0;
    double total = 0;
    for (uint8_t b : codes) {
      if (b > 3) {
        valid = 0;
        continue;
      }
      code = ((code << 2) | b) & mask;
      if (++valid >= k) {
        counts[column[code]] += 1.0f;
        total += 1;
      }
    }
    if (total == 0) continue;
    // Expected count of one canonical k-mer under uniform bases: total * 2 / 4^k (palindromes
    // have half that, a detail the scale does not need).
    const double scale = static_cast<double>(int64_t{1} << (2 * k)) / (2.0 * total);
    for (int64_t c = 0; c < block; ++c)
      if (counts[c] != 0.0f)
        out.emplace_back(static_cast<int32_t>(offset_[k - kmin_] + c),
                         static_cast<float>(counts[c] * scale));
  }
}

double gc_fraction(std::string_view seq) {
  int64_t gc = 0, acgt = 0;
  for (char c : seq) {
    const uint8_t b = data::base_code(c);
    if (b > 3) continue;
    ++acgt;
    gc += b == data::kBaseC || b == data::kBaseG;
  }
  return acgt ? static_cast<double>(gc) / acgt : 0.5;
}

double unknown_fraction(std::string_view seq) {
  if (seq.empty()) return 0.0;
  int64_t unknown = 0;
  for (char c : seq) unknown += data::base_code(c) > 3;
  return static_cast<double>(unknown) / seq.size();
}

OneHotFlat::OneHotFlat(int64_t length) : length_(length) {
  STRAND_CHECK(length >= 1, "flattened one-hot needs a positive sequence length, got {}", length);
}

std::string OneHotFlat::name() const {
  return strand::format("onehot (flattened, {} positions x 4 bases)", length_);
}

void OneHotFlat::extract(std::string_view seq, std::vector<SparseEntry>& out) const {
  STRAND_CHECK(static_cast<int64_t>(seq.size()) == length_,
               "flattened one-hot takes sequences of length {}, got one of length {}", length_,
               seq.size());
  for (int64_t i = 0; i < length_; ++i) {
    const uint8_t b = data::base_code(seq[i]);
    const auto col = static_cast<int32_t>(4 * i);
    if (b <= 3) {
      out.emplace_back(col + b, 1.0f);
    } else {
      for (int32_t k = 0; k < 4; ++k) out.emplace_back(col + k, 0.25f);
    }
  }
}

PositionalDinucleotides::PositionalDinucleotides(int64_t length) : length_(length) {
  STRAND_CHECK(length >= 2, "positional dinucleotides need sequences of length >= 2, got {}",
               length);
}

std::string PositionalDinucleotides::name() const {
  return strand::format("dinucleotides (positional, {} positions x 16 pairs)", length_ - 1);
}

void PositionalDinucleotides::extract(std::string_view seq, std::vector<SparseEntry>& out) const {
  STRAND_CHECK(static_cast<int64_t>(seq.size()) == length_,
               "positional dinucleotides take sequences of length {}, got one of length {}",
               length_, seq.size());
  for (int64_t i = 0; i + 1 < length_; ++i) {
    const uint8_t a = data::base_code(seq[i]), b = data::base_code(seq[i + 1]);
    if (a > 3 || b > 3) continue;
    out.emplace_back(static_cast<int32_t>(16 * i + 4 * a + b), 1.0f);
  }
}

int64_t common_length(std::span<const std::string> seqs) {
  if (seqs.empty()) return 0;
  const size_t n = seqs[0].size();
  for (const auto& s : seqs)
    if (s.size() != n) return 0;
  return static_cast<int64_t>(n);
}

void GcContent::extract(std::string_view seq, std::vector<SparseEntry>& out) const {
  out.emplace_back(0, static_cast<float>(gc_fraction(seq)));
}

}  // namespace strand::rules
