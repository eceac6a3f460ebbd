// Canonical k-mer MinHash sketches (one-permutation hashing with densification): each k-mer is
// hashed once, so sketching costs O(length) whatever the sketch size. Similar sequences on either
// strand share sketch bins in proportion to the Jaccard similarity of their canonical k-mer sets.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace strand::rules {

struct SketchOptions {
  int k = 12;      // k-mer length (1..31); 12 separates 90%-identical from unrelated 1 kb reads
  int bins = 512;  // sketch size: one 32-bit minimum per bin (2 KiB per sequence)
  uint64_t seed = 0x5eed5eedull;
};

// Sorted, unique canonical k-mer codes (min of forward and reverse complement), skipping windows
// that contain a non-ACGT symbol. scale > 1 keeps about one in `scale` of them: those whose hash
// is below 2^64 / scale, the same k-mers for every sequence, so Jaccard estimates stay unbiased.
std::vector<uint64_t> canonical_kmers(std::string_view seq, int k, uint64_t scale = 1);

// Writes options.bins values into out. Returns false when the sequence has no valid k-mer (then
// out is all 0xFFFFFFFF and the sequence can only match exactly).
bool minhash_sketch(std::string_view seq, const SketchOptions& options, uint32_t* out);

// Fraction of equal bins: an unbiased estimate of the Jaccard similarity.
double sketch_jaccard(std::span<const uint32_t> a, std::span<const uint32_t> b);

// Exact Jaccard similarity of two sorted k-mer sets.
double kmer_jaccard(std::span<const uint64_t> a, std::span<const uint64_t> b);

// Identity implied by a k-mer Jaccard under random substitutions (Mash distance, Ondov et al.
// 2016): 1 + ln(2J / (1 + J)) / k, clamped to [0, 1].
double identity_from_jaccard(double jaccard, int k);

// Ungapped identity of equal-length sequences on the better strand (matches / length); -1 when
// the lengths differ.
double ungapped_identity(std::string_view a, std::string_view b);

}  // namespace strand::rules
