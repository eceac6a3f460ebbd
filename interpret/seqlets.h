// Seqlets, the stretches of sequence a model relies on, found in attributions as TF-MoDISco does:
// windows whose summed contribution is too large for chance, the threshold set where the
// estimated false discovery rate (null windows / real windows above it) reaches the target.
// Chance (the null) is measured on the same attributions in two rounds: first each sequence's
// positions shuffled, then values drawn from its positions outside the first round's seqlets.
#pragma once

#include <cstdint>
#include <vector>

namespace strand::interpret {

// One task's attributions over N sequences of length L (a [N, 4, L] slice of the contract's
// [N, T, 4, L] arrays) and the sequences' base codes.
struct AttributionTracks {
  int64_t sequences = 0, length = 0;
  std::vector<uint8_t> codes;        // [N, L] (data/encoding.h codes; > 3 is unknown)
  std::vector<float> contributions;  // [N, 4, L]: hypothetical x one-hot
  std::vector<float> hypothetical;   // [N, 4, L], or empty when not given
  // Checks the sizes; a one-line error otherwise.
  void check() const;
};

struct SeqletOptions {
  int64_t window = 21;          // positions summed for a window's score (TF-MoDISco's default)
  int64_t flank = 10;           // added on each side of a window to make the seqlet
  double fdr = 0.05;            // target false discovery rate of the chosen windows
  int64_t max_seqlets = 20000;  // per sign, the strongest kept (TF-MoDISco's default)
  uint64_t seed = 1;            // the null's shuffles
};

struct Seqlet {
  int64_t sequence = 0;
  int64_t start = 0;  // first position of the seqlet (window start - flank; may be < 0)
  int64_t width = 0;  // window + 2 flank
  double score = 0;   // the window's summed contribution (sign: which metacluster)
};

struct SeqletCalls {
  std::vector<Seqlet> seqlets;  // positive then negative, each strongest first
  // Smallest |window sum| called, per sign (infinity: none called), and windows of each kind.
  double positive_threshold = 0, negative_threshold = 0;
  int64_t windows = 0, null_windows = 0;
};

// Seqlets of every sequence: windows above the FDR threshold of their sign, taken strongest first
// without overlapping an already taken seqlet of the same sequence.
SeqletCalls find_seqlets(const AttributionTracks& tracks, const SeqletOptions& options = {});

}  // namespace strand::interpret
