// Dinucleotide shuffles of DNA base codes: the references DeepLIFT/DeepSHAP and integrated
// gradients compare a sequence against. A shuffle keeps the first and last base and every
// dinucleotide count exactly (Altschul & Erickson 1985: a random Eulerian path through the graph
// of the sequence's dinucleotides), so a reference keeps the GC and CpG content and loses motifs.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace strand::interpret {

// One shuffle of codes [n] (values 0..4: A, C, G, T, unknown), drawn with rng.
std::vector<uint8_t> dinucleotide_shuffle(const uint8_t* codes, int64_t n, std::mt19937_64& rng);

// `count` shuffles of each of `sequences` rows of codes [sequences, length], [sequences, count,
// length]. Shuffle k of sequence i depends only on (seed, i, k), not on how rows are batched.
std::vector<uint8_t> dinucleotide_shuffles(const std::vector<uint8_t>& codes, int64_t sequences,
                                           int64_t length, int64_t count, uint64_t seed,
                                           int64_t first_index = 0);

}  // namespace strand::interpret
