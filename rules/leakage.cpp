// Exact, reverse-complement and near-duplicate detection across or within splits; see leakage.h.
#include "rules/leakage.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

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
  const auto n = static_cast<int64_t>(seqs.size());
  STRAND_CHECK(split.size() == seqs.size(), "find_duplicates: {} sequences but {} split labels",
               seqs.size(), split.size());
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
  std::unordered_set<uint64_t> flagged;

  // 1. Exact and reverse-complement duplicates: group by the smaller of the two strand hashes.
  std::vector<std::pair<uint64_t, int64_t>> keyed(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    keyed[i] = {std::min(hash_bytes(seqs[i]), hash_bytes(data::reverse_complement(seqs[i]))), i};
  std::sort(keyed.begin(), keyed.end());
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && keyed[j].first == keyed[i].first) ++j;
    for (int64_t x = i; x < j; ++x)
      for (int64_t y = x + 1; y < j && y < x + 1 + o.max_bucket; ++y) {
        int64_t a = keyed[x].second, b = keyed[y].second;
        if (a > b) std::swap(a, b);
        if (!in_scope(o, split, a, b)) continue;
        PairKind kind;
        if (same_upper(seqs[a], seqs[b]))
          kind = PairKind::kExact;
        else if (same_upper(data::reverse_complement(seqs[a]), seqs[b]))
          kind = PairKind::kReverseComplement;
        else
          continue;  // a hash collision
        report.pairs.push_back({a, b, kind, 1.0});
        flagged.insert(pair_key(a, b));
        (kind == PairKind::kExact ? report.exact : report.reverse_complement)++;
      }
    i = j;
  }

  // 2. Sketch every sequence once (canonical k-mers hashed once each). The sequences and their
  // sketches are held together: checked against the memory limit first.
  const int bins = o.sketch.bins;
  uint64_t bases = 0;
  for (const auto& s : seqs) bases += s.capacity();
  check_memory(bases + static_cast<uint64_t>(n) * (static_cast<uint64_t>(bins) * 4 + 64),
               format("comparing {} sequences ({} bases) with {}-bin sketches", n, bases, bins));
  std::vector<uint32_t> sketches(static_cast<size_t>(n) * bins);
  std::vector<char> has_sketch(n);
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t i = 0; i < n; ++i)
    has_sketch[i] = minhash_sketch(seqs[i], o.sketch, sketches.data() + i * bins);
  report.unsketched = std::count(has_sketch.begin(), has_sketch.end(), 0);

  // 3. LSH banding: sequences whose band of rows_per_band bins is identical become candidates.
  const int bands = bins / o.rows_per_band;
  std::vector<std::vector<uint64_t>> band_pairs(bands);
#pragma omp parallel for schedule(dynamic, 1)
  for (int band = 0; band < bands; ++band) {
    std::vector<std::pair<uint64_t, uint32_t>> keys;
    keys.reserve(n);
    for (int64_t i = 0; i < n; ++i) {
      if (!has_sketch[i]) continue;
      // A band takes bins `bands` apart: densification copies a filled bin into its empty
      // neighbours, so adjacent bins are correlated and would make random pairs collide.
      const uint32_t* sk = sketches.data() + i * bins;
      uint64_t h = 0x9E3779B97F4A7C15ull * (band + 1);
      for (int r = 0; r < o.rows_per_band; ++r)
        h = (h ^ sk[band + r * bands]) * 0xff51afd7ed558ccdull + r;
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
  std::vector<uint64_t> candidates;
  for (auto& v : band_pairs) {
    candidates.insert(candidates.end(), v.begin(), v.end());
    std::vector<uint64_t>().swap(v);
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::erase_if(candidates, [&](uint64_t key) { return flagged.count(key) > 0; });
  report.candidates = static_cast<int64_t>(candidates.size());

  // 4. Verify: a cheap sketch prefilter, then the identity estimate.
  const int k = o.sketch.k;
  // The sketch Jaccard at which the identity estimate would be min_identity, with slack for
  // the sketch's sampling noise.
  const double j_at_min = [&] {
    const double x = std::exp((o.min_identity - 1.0) * k);  // 2J / (1 + J)
    return x / (2 - x);
  }();
  std::vector<LeakPair> near(candidates.size());
  std::vector<char> keep(candidates.size(), 0);
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t c = 0; c < candidates.size(); ++c) {
    const int64_t a = static_cast<int64_t>(candidates[c] >> 32);
    const int64_t b = static_cast<int64_t>(candidates[c] & 0xFFFFFFFFu);
    const double js = sketch_jaccard({sketches.data() + a * bins, static_cast<size_t>(bins)},
                                     {sketches.data() + b * bins, static_cast<size_t>(bins)});
    const bool same_length = seqs[a].size() == seqs[b].size();
    if (js < 0.5 * j_at_min && !same_length) continue;
    const double id = estimate_identity(seqs[a], seqs[b], k);
    if (id >= o.min_identity) {
      near[c] = {a, b, PairKind::kNearDuplicate, id};
      keep[c] = 1;
    }
  }
  for (size_t c = 0; c < candidates.size(); ++c)
    if (keep[c]) {
      report.pairs.push_back(near[c]);
      ++report.near_duplicate;
    }
  std::stable_sort(report.pairs.begin(), report.pairs.end(),
                   [](const LeakPair& x, const LeakPair& y) { return x.identity > y.identity; });
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
