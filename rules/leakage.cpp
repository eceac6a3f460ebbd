// Exact, reverse-complement and near-duplicate detection across or within splits; see leakage.h.
#include "rules/leakage.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "core/checked.h"
#include "core/error.h"
#include "data/encoding.h"

namespace strand::rules {
namespace {

uint64_t hash_bytes(std::string_view s) {
  // FNV-1a over upper-cased bases, so case differences do not hide duplicates.
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    h *= 1099511628211ull;
  }
  return h;
}

// hash_bytes of the reverse complement, built a piece at a time from the end (a record may be a
// chromosome): the reverse complement of s is that of its last piece, then the one before, ...
uint64_t hash_reverse_complement(std::string_view s) {
  constexpr size_t kPiece = 1 << 16;
  uint64_t h = 1469598103934665603ull;
  for (size_t end = s.size(); end > 0;) {
    const size_t begin = end > kPiece ? end - kPiece : 0;
    for (char c : data::reverse_complement(s.substr(begin, end - begin))) {
      h ^= static_cast<unsigned char>(c >= 'a' && c <= 'z' ? c - 32 : c);
      h *= 1099511628211ull;
    }
    end = begin;
  }
  return h;
}

bool same_upper(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x -= 32;
    if (y >= 'a' && y <= 'z') y -= 32;
    if (x != y) return false;
  }
  return true;
}

uint64_t pair_key(int64_t a, int64_t b) {
  return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
}

bool in_scope(const LeakageOptions& o, std::span<const int> split, int64_t a, int64_t b) {
  return o.scope == PairScope::kCrossSplit ? split[a] != split[b] : split[a] == split[b];
}

}  // namespace

const char* pair_kind_name(PairKind kind) {
  switch (kind) {
    case PairKind::kExact:
      return "exact";
    case PairKind::kReverseComplement:
      return "reverse_complement";
    case PairKind::kNearDuplicate:
      return "near_duplicate";
  }
  return "?";
}

double estimate_identity(std::string_view a, std::string_view b, int k) {
  const double ungapped = ungapped_identity(a, b);
  // k grows with the length so that unrelated sequences share few k-mers by chance: a record of
  // a few Mb holds a large part of the 4^12 / 2 canonical 12-mers, so at k = 12 any two such
  // records looked identical. With 4^k >= 1024 x length, chance sharing stays near 1/1000.
  const size_t longest = std::max(a.size(), b.size());
  int need = 5;
  while (need < 31 && (uint64_t{1} << (2 * need)) < 1024 * static_cast<uint64_t>(longest)) ++need;
  const int kk = std::max(k, need);
  // Long records are compared on a fixed fraction of their k-mers (those whose hash falls below
  // a threshold, the same for both), so memory stays near 2^20 k-mers a sequence.
  const uint64_t scale = std::max<uint64_t>(1, longest >> 20);
  const double kmer = identity_from_jaccard(
      kmer_jaccard(canonical_kmers(a, kk, scale), canonical_kmers(b, kk, scale)), kk);
  return std::max(ungapped, kmer);
}

LeakageReport find_duplicates(std::span<const std::string> seqs, std::span<const int> split,
                              const LeakageOptions& o) {
  STRAND_CHECK(split.size() == seqs.size(), "find_duplicates: {} sequences but {} split labels",
               seqs.size(), split.size());
  return find_duplicates(MemorySequences(seqs), split, o);
}

namespace {

// What the first pass keeps of each row.
struct Sketches {
  int bins = 0;
  std::vector<uint64_t> strand_hash;  // the smaller of the two strands' hashes
  std::vector<int64_t> length;
  std::vector<uint32_t> values;  // rows x bins
  std::vector<char> has_sketch;
  const uint32_t* of(int64_t row) const { return values.data() + row * bins; }
};

// Pass 1: hashes and sketches of every row, computed in parallel on chunks of sequences copied
// out of the stream; a chunk is at most a sixteenth of the memory still free (a record larger
// than that, a chromosome, is summarized alone where it was read).
Sketches sketch_rows(const SequenceStream& seqs, int64_t n, const SketchOptions& so,
                     const SequenceStream::Visit& visit) {
  Sketches sk;
  sk.bins = so.bins;
  const uint64_t per_row = static_cast<uint64_t>(so.bins) * 4 + 32;
  const uint64_t held = static_cast<uint64_t>(n) * per_row;
  const std::string what = format("comparing {} sequences with {}-bin sketches", n, so.bins);
  check_memory(held, what);
  sk.strand_hash.assign(n, 0);
  sk.length.assign(n, -1);
  sk.values.assign(static_cast<size_t>(n) * so.bins, 0);
  sk.has_sketch.assign(n, 0);
  const uint64_t available = available_memory_bytes();
  const uint64_t chunk_limit =
      std::max<uint64_t>(64 << 10, (available - std::min(available, held)) / 16);
  auto summarize = [&](int64_t row, std::string_view s) {
    sk.strand_hash[row] = std::min(hash_bytes(s), hash_reverse_complement(s));
    sk.has_sketch[row] = minhash_sketch(s, so, sk.values.data() + row * so.bins);
  };
  std::vector<std::pair<int64_t, std::string>> chunk;
  uint64_t chunk_bytes = 0;
  auto flush = [&] {
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < chunk.size(); ++c) summarize(chunk[c].first, chunk[c].second);
    chunk.clear();
    chunk_bytes = 0;
  };
  seqs.for_each([&](int64_t row, std::string_view s) {
    STRAND_CHECK(row >= 0 && row < n && sk.length[row] < 0,
                 "find_duplicates: row {} delivered twice or out of [0, {})", row, n);
    if (visit) visit(row, s);
    sk.length[row] = static_cast<int64_t>(s.size());
    // The record as read, and its copy in the chunk unless it is summarized where it is.
    const bool alone = s.size() >= chunk_limit;
    const uint64_t need = held + chunk_bytes + (alone ? 1 : 2) * s.size();
    if (need > available) check_memory(need, format("{} (a record of {} bases)", what, s.size()));
    if (alone) return summarize(row, s);
    chunk.emplace_back(row, std::string(s));
    chunk_bytes += s.size();
    if (chunk_bytes >= chunk_limit) flush();
  });
  flush();
  for (int64_t i = 0; i < n; ++i)
    STRAND_CHECK(sk.length[i] >= 0, "find_duplicates: row {} was never read", i);
  return sk;
}

// A candidate pair and how it may be confirmed.
struct Candidate {
  uint64_t key = 0;
  bool same_hash = false;  // may be an exact or reverse-complement duplicate
  bool banded = false;     // an LSH candidate that passed the sketch prefilter
  bool lsh = false;        // an LSH candidate (counted in report.candidates unless flagged)
};

}  // namespace

LeakageReport find_duplicates(const SequenceStream& seqs, std::span<const int> split,
                              const LeakageOptions& o, const SequenceStream::Visit& visit) {
  const auto n = static_cast<int64_t>(split.size());
  STRAND_CHECK(seqs.size() == n, "find_duplicates: {} sequences but {} split labels", seqs.size(),
               split.size());
  STRAND_CHECK(n < (int64_t{1} << 31), "find_duplicates: at most 2^31 sequences, got {}", n);
  STRAND_CHECK(o.sketch.k >= 1 && o.sketch.k <= 31, "k-mer length must be in [1, 31], got {}",
               o.sketch.k);
  STRAND_CHECK(o.sketch.bins >= 2, "sketch bins must be >= 2, got {}", o.sketch.bins);
  STRAND_CHECK(o.rows_per_band >= 1 && o.sketch.bins % o.rows_per_band == 0,
               "sketch bins ({}) must be a multiple of rows per band ({})", o.sketch.bins,
               o.rows_per_band);
  STRAND_CHECK(o.min_identity > 0 && o.min_identity <= 1, "min identity must be in (0, 1], got {}",
               o.min_identity);
  LeakageReport report;
  const Sketches sk = sketch_rows(seqs, n, o.sketch, visit);
  report.unsketched = std::count(sk.has_sketch.begin(), sk.has_sketch.end(), 0);

  // 1. Exact and reverse-complement candidates: rows with the same smaller strand hash.
  std::vector<std::pair<uint64_t, int64_t>> keyed(n);
  for (int64_t i = 0; i < n; ++i) keyed[i] = {sk.strand_hash[i], i};
  std::sort(keyed.begin(), keyed.end());
  std::vector<uint64_t> same_hash;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && keyed[j].first == keyed[i].first) ++j;
    for (int64_t x = i; x < j; ++x)
      for (int64_t y = x + 1; y < j && y < x + 1 + o.max_bucket; ++y) {
        int64_t a = keyed[x].second, b = keyed[y].second;
        if (a > b) std::swap(a, b);
        if (in_scope(o, split, a, b)) same_hash.push_back(pair_key(a, b));
      }
    i = j;
  }
  std::vector<std::pair<uint64_t, int64_t>>().swap(keyed);

  // 2. LSH banding: sequences whose band of rows_per_band bins is identical become candidates.
  const int bins = o.sketch.bins;
  const int bands = bins / o.rows_per_band;
  std::vector<std::vector<uint64_t>> band_pairs(bands);
#pragma omp parallel for schedule(dynamic, 1)
  for (int band = 0; band < bands; ++band) {
    std::vector<std::pair<uint64_t, uint32_t>> keys;
    keys.reserve(n);
    for (int64_t i = 0; i < n; ++i) {
      if (!sk.has_sketch[i]) continue;
      // A band takes bins `bands` apart: densification copies a filled bin into its empty
      // neighbours, so adjacent bins are correlated and would make random pairs collide.
      const uint32_t* row = sk.of(i);
      uint64_t h = 0x9E3779B97F4A7C15ull * (band + 1);
      for (int r = 0; r < o.rows_per_band; ++r)
        h = (h ^ row[band + r * bands]) * 0xff51afd7ed558ccdull + r;
      keys.emplace_back(h ^ (h >> 29), static_cast<uint32_t>(i));
    }
    std::sort(keys.begin(), keys.end());
    auto& out = band_pairs[band];
    for (size_t i = 0; i < keys.size();) {
      size_t j = i;
      while (j < keys.size() && keys[j].first == keys[i].first) ++j;
      for (size_t x = i; x < j; ++x)
        for (size_t y = x + 1; y < j && y < x + 1 + o.max_bucket; ++y) {
          int64_t a = keys[x].second, b = keys[y].second;
          if (a > b) std::swap(a, b);
          if (in_scope(o, split, a, b)) out.push_back(pair_key(a, b));
        }
      i = j;
    }
  }
  std::vector<uint64_t> lsh;
  for (auto& v : band_pairs) {
    lsh.insert(lsh.end(), v.begin(), v.end());
    std::vector<uint64_t>().swap(v);
  }
  std::sort(lsh.begin(), lsh.end());
  lsh.erase(std::unique(lsh.begin(), lsh.end()), lsh.end());
  std::sort(same_hash.begin(), same_hash.end());

  // 3. One list of pairs to confirm on their sequences. An LSH candidate first passes a cheap
  // sketch prefilter: the sketch Jaccard at which the identity estimate would be min_identity,
  // with slack for the sketch's sampling noise (pairs of equal length always go on: the ungapped
  // identity may flag them).
  const int k = o.sketch.k;
  const double j_at_min = [&] {
    const double x = std::exp((o.min_identity - 1.0) * k);  // 2J / (1 + J)
    return x / (2 - x);
  }();
  std::vector<Candidate> todo;
  for (size_t x = 0, y = 0; x < same_hash.size() || y < lsh.size();) {
    Candidate c;
    if (y >= lsh.size() || (x < same_hash.size() && same_hash[x] <= lsh[y])) {
      c.key = same_hash[x];
      c.same_hash = true;
      ++x;
    }
    if (y < lsh.size() && (!c.same_hash || lsh[y] == c.key)) {
      c.key = lsh[y];
      c.lsh = true;
      ++y;
    }
    if (c.lsh) {
      const int64_t a = static_cast<int64_t>(c.key >> 32), b = c.key & 0xFFFFFFFFu;
      const double js = sketch_jaccard({sk.of(a), static_cast<size_t>(bins)},
                                       {sk.of(b), static_cast<size_t>(bins)});
      c.banded = !(js < 0.5 * j_at_min && sk.length[a] != sk.length[b]);
    }
    todo.push_back(c);
  }
  std::vector<uint64_t>().swap(same_hash);
  std::vector<uint64_t>().swap(lsh);

  // 4. Confirm in batches whose sequences fit in half the memory still free; each batch is one
  // more pass over the input, keeping only the rows it needs.
  std::vector<LeakPair> found(todo.size());
  std::vector<char> kept(todo.size(), 0);
  const uint64_t held = sk.values.size() * 4 + static_cast<uint64_t>(n) * 32 +
                        todo.size() * (sizeof(Candidate) + sizeof(LeakPair) + 1);
  const uint64_t available = available_memory_bytes();
  const uint64_t batch_limit =
      std::max<uint64_t>(64 << 10, (available - std::min(available, held)) / 2);
  for (size_t begin = 0; begin < todo.size();) {
    std::unordered_map<int64_t, std::string> rows;
    uint64_t bytes = 0;
    size_t end = begin;
    for (; end < todo.size(); ++end) {
      const auto& c = todo[end];
      if (!c.same_hash && !c.banded) continue;
      const int64_t pair[2] = {static_cast<int64_t>(c.key >> 32),
                               static_cast<int64_t>(c.key & 0xFFFFFFFFu)};
      uint64_t add = 0;
      for (int64_t r : pair)
        if (!rows.count(r)) add += static_cast<uint64_t>(sk.length[r]);
      if (pair[0] == pair[1]) add /= 2;
      if (bytes + add > batch_limit && bytes > 0) break;
      for (int64_t r : pair) rows.emplace(r, std::string());
      if (held + bytes + add > available)
        check_memory(held + bytes + add,
                     format("confirming a duplicate pair of {} and {} bases",
                            sk.length[c.key >> 32], sk.length[c.key & 0xFFFFFFFFu]));
      bytes += add;
    }
    if (!rows.empty()) {
      seqs.for_each([&](int64_t row, std::string_view s) {
        const auto it = rows.find(row);
        if (it != rows.end()) it->second.assign(s);
      });
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = begin; i < end; ++i) {
      const auto& c = todo[i];
      if (!c.same_hash && !c.banded) continue;
      const int64_t a = static_cast<int64_t>(c.key >> 32), b = c.key & 0xFFFFFFFFu;
      const std::string& x = rows.at(a);
      const std::string& y = rows.at(b);
      if (c.same_hash && same_upper(x, y)) {
        found[i] = {a, b, PairKind::kExact, 1.0};
        kept[i] = 1;
      } else if (c.same_hash && same_upper(data::reverse_complement(x), y)) {
        found[i] = {a, b, PairKind::kReverseComplement, 1.0};
        kept[i] = 1;
      } else if (c.banded) {
        const double id = estimate_identity(x, y, k);
        if (id >= o.min_identity) {
          found[i] = {a, b, PairKind::kNearDuplicate, id};
          kept[i] = 1;
        }
      }
    }
    begin = end;
  }

  for (size_t i = 0; i < todo.size(); ++i) {
    const bool flagged = kept[i] && found[i].kind != PairKind::kNearDuplicate;
    if (todo[i].lsh && !flagged) ++report.candidates;
    if (!kept[i]) continue;
    report.pairs.push_back(found[i]);
    switch (found[i].kind) {
      case PairKind::kExact:
        ++report.exact;
        break;
      case PairKind::kReverseComplement:
        ++report.reverse_complement;
        break;
      case PairKind::kNearDuplicate:
        ++report.near_duplicate;
        break;
    }
  }
  // Highest identity first; ties in row order, so the order does not depend on the input's.
  std::sort(report.pairs.begin(), report.pairs.end(), [](const LeakPair& x, const LeakPair& y) {
    if (x.identity != y.identity) return x.identity > y.identity;
    return std::pair(x.a, x.b) < std::pair(y.a, y.b);
  });
  return report;
}

std::vector<int64_t> dedup_drop_list(const LeakageReport& report, std::span<const int> split,
                                     std::span<const int> keep_rank) {
  auto rank = [&](int64_t i) {
    const int s = split[i];
    STRAND_CHECK(s >= 0 && static_cast<size_t>(s) < keep_rank.size(),
                 "dedup: split {} has no keep rank", s);
    return keep_rank[s];
  };
  std::vector<char> dropped(split.size(), 0);
  // Highest identity first, so the strongest leaks decide; a pair already broken is skipped.
  for (const auto& p : report.pairs) {
    if (dropped[p.a] || dropped[p.b]) continue;
    const int64_t victim = rank(p.a) < rank(p.b) ? p.a : p.b;
    dropped[victim] = 1;
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < dropped.size(); ++i)
    if (dropped[i]) out.push_back(static_cast<int64_t>(i));
  return out;
}

std::vector<IntervalOverlap> cross_split_overlaps(std::span<const GenomicInterval> iv) {
  std::vector<int64_t> order(iv.size());
  std::iota(order.begin(), order.end(), 0);
  for (const auto& x : iv)
    STRAND_CHECK(x.end >= x.start, "interval {}:{}-{} ends before it starts", x.chrom, x.start,
                 x.end);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (iv[a].chrom != iv[b].chrom) return iv[a].chrom < iv[b].chrom;
    return iv[a].start < iv[b].start;
  });
  std::vector<IntervalOverlap> out;
  std::vector<int64_t> active;  // intervals on the current chromosome that may still overlap
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& cur = iv[order[i]];
    if (i > 0 && iv[order[i - 1]].chrom != cur.chrom) active.clear();
    std::erase_if(active, [&](int64_t a) { return iv[a].end <= cur.start; });
    for (int64_t a : active) {
      if (iv[a].split == cur.split) continue;
      const int64_t overlap = std::min(iv[a].end, cur.end) - cur.start;
      if (overlap > 0) out.push_back({std::min(a, order[i]), std::max(a, order[i]), overlap});
    }
    active.push_back(order[i]);
  }
  return out;
}

}  // namespace strand::rules
