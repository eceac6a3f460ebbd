// Position weight matrices: a built-in set of well-known transcription-factor motifs, sampling
// binding sites from a PWM, and log-odds scanning of both strands.
//
// The built-in PWMs are APPROXIMATE: each is derived from a published IUPAC consensus (not from
// JASPAR count matrices): at a position allowing k bases, those k share `strength` probability
// equally and the other 4 - k share the rest; N is uniform. Built-ins use strength 0.95.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strand::data {

struct Motif {
  std::string name;                        // a built-in name, or a MEME file's identifier
  std::string consensus;                   // IUPAC, as written (empty for a typed-in matrix)
  std::vector<std::array<double, 4>> pwm;  // [length][A, C, G, T], each row sums to 1
  std::string alt_name;                    // MEME's alternate name (JASPAR: the factor, "CTCF")
  double nsites = 0;                       // sites behind the matrix (MEME nsites=; 0: unknown)

  int64_t length() const { return static_cast<int64_t>(pwm.size()); }
};

// A PWM from an IUPAC consensus (see the rule above); strength in (0.25, 1].
Motif motif_from_consensus(std::string name, std::string_view consensus, double strength = 0.9);

// The built-in set: CTCF, GATA, AP1, SP1, CREB, TATA, NFKB, EBOX (consensus in motifs.cpp).
const std::vector<Motif>& builtin_motifs();
// A built-in motif by name (case-insensitive); an unknown name lists the known ones.
const Motif& builtin_motif(std::string_view name);

// Best log-odds score (natural log, against a background with GC fraction gc) of the motif at
// any position of codes[0, n) on either strand; windows with an unknown base score -infinity
// there. -infinity when n is shorter than the motif.
double best_log_odds(const Motif& motif, const uint8_t* codes, int64_t n, double gc = 0.5);

}  // namespace strand::data
