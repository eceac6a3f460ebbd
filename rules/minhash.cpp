// Canonical k-mer MinHash sketches; see minhash.h.
#include "rules/minhash.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/encoding.h"

namespace strand::rules {
namespace {

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdull;
  z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ull;
  return z ^ (z >> 33);
}

constexpr uint32_t kEmpty = 0xFFFFFFFFu;

// Calls f(canonical code) for every valid k-mer, rolling the forward and reverse codes.
template <typename F>
void for_each_canonical(std::string_view seq, int k, F&& f) {
  const uint64_t mask = k == 32 ? ~0ull : ((1ull << (2 * k)) - 1);
  const int shift = 2 * (k - 1);
  uint64_t fwd = 0, rev = 0;
  int valid = 0;
  for (char c : seq) {
    const int b = data::base_code(c);
    if (b > 3) {  // N, IUPAC ambiguity codes and anything else break the window
      valid = 0;
      continue;
    }
    fwd = ((fwd << 2) | static_cast<uint64_t>(b)) & mask;
    rev = (rev >> 2) | (static_cast<uint64_t>(3 - b) << shift);
    if (++valid >= k) f(std::min(fwd, rev));
  }
}

}  // namespace

std::vector<uint64_t> canonical_kmers(std::string_view seq, int k, uint64_t scale) {
  STRAND_CHECK(k >= 1 && k <= 31, "k-mer length must be in [1, 31], got {}", k);
  STRAND_CHECK(scale >= 1, "k-mer sampling scale must be >= 1, got {}", scale);
  std::vector<uint64_t> out;
  out.reserve(seq.size() / scale + 1);
  const uint64_t below = ~0ull / scale;
  for_each_canonical(seq, k, [&](uint64_t code) {
    if (scale == 1 || mix64(code) <= below) out.push_back(code);
  });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool minhash_sketch(std::string_view seq, const SketchOptions& o, uint32_t* out) {
  STRAND_CHECK(o.k >= 1 && o.k <= 31, "k-mer length must be in [1, 31], got {}", o.k);
  STRAND_CHECK(o.bins >= 1, "sketch bins must be >= 1, got {}", o.bins);
  std::fill(out, out + o.bins, kEmpty);
  const uint64_t bins = static_cast<uint64_t>(o.bins);
  bool any = false;
  for_each_canonical(seq, o.k, [&](uint64_t code) {
    const uint64_t h = mix64(code ^ o.seed);
    const uint64_t bin = ((h >> 32) * bins) >> 32;  // high bits choose the bin
    const auto v = static_cast<uint32_t>(h) >> 1;   // low bits rank within it; kEmpty is free
    if (v < out[bin]) out[bin] = v;
    any = true;
  });
  if (!any) return false;
  // Densification by rotation (Shrivastava & Li 2014): an empty bin borrows the next filled bin's
  // value, tagged with the distance, so two similar sets fill their empty bins alike.
  int first = 0;
  while (out[first] == kEmpty) ++first;
  for (int step = 1; step <= o.bins; ++step) {
    const int j = (first - step + o.bins) % o.bins;  // walk backwards from a filled bin
    const int next = (j + 1) % o.bins;
    if (out[j] == kEmpty) out[j] = (static_cast<uint32_t>(mix64(out[next] + 1)) >> 1) | 0x80000000u;
  }
  return true;
}

double sketch_jaccard(std::span<const uint32_t> a, std::span<const uint32_t> b) {
  STRAND_CHECK(a.size() == b.size() && !a.empty(), "sketches of different sizes: {} vs {}",
               a.size(), b.size());
  size_t equal = 0;
  for (size_t i = 0; i < a.size(); ++i) equal += a[i] == b[i];
  return static_cast<double>(equal) / a.size();
}

double kmer_jaccard(std::span<const uint64_t> a, std::span<const uint64_t> b) {
  if (a.empty() && b.empty()) return 0.0;
  size_t i = 0, j = 0, shared = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++shared;
      ++i;
      ++j;
    }
  }
  return static_cast<double>(shared) / (a.size() + b.size() - shared);
}

double identity_from_jaccard(double jaccard, int k) {
  if (jaccard <= 0) return 0.0;
  const double id = 1.0 + std::log(2 * jaccard / (1 + jaccard)) / k;
  return std::clamp(id, 0.0, 1.0);
}

double ungapped_identity(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return -1.0;
  size_t fwd = 0, rev = 0;
  const size_t n = a.size();
  for (size_t i = 0; i < n; ++i) {
    const int x = data::base_code(a[i]);
    if (x > 3) continue;  // an unknown base matches nothing
    fwd += x == data::base_code(b[i]);
    rev += x == 3 - data::base_code(b[n - 1 - i]);
  }
  return static_cast<double>(std::max(fwd, rev)) / n;
}

}  // namespace strand::rules
