// Dinucleotide shuffles (see shuffle.h).
#include "interpret/shuffle.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace strand::interpret {
namespace {

constexpr int kSymbols = 5;  // A, C, G, T, unknown

// SplitMix64: independent seeds for (seed, sequence, shuffle) triples.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<uint8_t> dinucleotide_shuffle(const uint8_t* codes, int64_t n, std::mt19937_64& rng) {
  std::vector<uint8_t> out(codes, codes + n);
  if (n <= 2) return out;
  for (int64_t i = 0; i < n; ++i) {
    STRAND_CHECK(codes[i] < kSymbols,
                 "dinucleotide_shuffle: base code {} at position {} is not 0..4", codes[i], i);
  }
  // The multigraph: one edge a -> b per dinucleotide ab.
  std::array<std::vector<uint8_t>, kSymbols> edges;
  for (int64_t i = 0; i + 1 < n; ++i) edges[codes[i]].push_back(codes[i + 1]);
  const uint8_t last = codes[n - 1];
  // Each vertex other than the last leaves for the last time along a random edge; those edges
  // must form a tree into the last vertex, or the walk would strand edges (Altschul-Erickson).
  std::array<int64_t, kSymbols> exit{};
  for (;;) {
    for (int v = 0; v < kSymbols; ++v) {
      if (v != last && !edges[v].empty()) {
        exit[v] = std::uniform_int_distribution<int64_t>(0, edges[v].size() - 1)(rng);
      }
    }
    bool tree = true;
    for (int v = 0; v < kSymbols && tree; ++v) {
      if (v == last || edges[v].empty()) continue;
      int u = v, steps = 0;
      while (u != last && steps <= kSymbols) u = edges[u][exit[u]], ++steps;
      tree = u == last;
    }
    if (tree) break;
  }
  // Every vertex's other edges in random order, its exit edge last.
  for (int v = 0; v < kSymbols; ++v) {
    auto& e = edges[v];
    if (e.empty()) continue;
    if (v != last) {
      std::swap(e[exit[v]], e.back());
      std::shuffle(e.begin(), e.end() - 1, rng);
    } else {
      std::shuffle(e.begin(), e.end(), rng);
    }
  }
  std::array<size_t, kSymbols> next{};
  uint8_t at = codes[0];
  for (int64_t i = 1; i < n; ++i) {
    at = edges[at][next[at]++];
    out[i] = at;
  }
  return out;
}

std::vector<uint8_t> dinucleotide_shuffles(const std::vector<uint8_t>& codes, int64_t sequences,
                                           int64_t length, int64_t count, uint64_t seed,
                                           int64_t first_index) {
  STRAND_CHECK(static_cast<int64_t>(codes.size()) == sequences * length,
               "dinucleotide_shuffles: {} codes for {} sequences of length {}", codes.size(),
               sequences, length);
  STRAND_CHECK(count > 0, "dinucleotide_shuffles: the number of shuffles must be positive, got {}",
               count);
  std::vector<uint8_t> out(static_cast<size_t>(sequences * count * length));
  for (int64_t i = 0; i < sequences; ++i) {
    for (int64_t k = 0; k < count; ++k) {
      std::mt19937_64 rng(mix(mix(seed) ^ mix(static_cast<uint64_t>(first_index + i) * 1000003u +
                                              static_cast<uint64_t>(k))));
      const auto s = dinucleotide_shuffle(codes.data() + i * length, length, rng);
      std::copy(s.begin(), s.end(), out.begin() + (i * count + k) * length);
    }
  }
  return out;
}

}  // namespace strand::interpret
