// First-layer convolution filters as motifs, by activation-weighted alignment (Kelley et al.
// 2016, Basset; Quang & Xie 2016, DanQ): for each filter, every subsequence of the inputs where
// its activation exceeds a fraction of its largest activation over all inputs is counted into a
// position frequency matrix.
#pragma once

#include <cstdint>
#include <vector>

#include "interpret/motif_compare.h"

namespace strand::interpret {

struct ConvFilters {
  int64_t filters = 0, width = 0;  // weight [filters, 4, width] as PyTorch's Conv1d holds it
  std::vector<float> weight;
  std::vector<float> bias;  // [filters], or empty
};

struct FilterMotif {
  int64_t filter = 0;
  double max_activation = 0;  // over all inputs (forward strand, windows without unknown bases)
  int64_t sites = 0;          // subsequences counted
  Pwm counts;                 // [width][A, C, G, T] counts of the sites
  Pwm ppm;                    // counts / sites (uniform where there are no sites)
};

// Activations are the filter's linear response (weights . one-hot + bias) at every window of
// `width` bases without an unknown base; a window counts when its activation exceeds
// threshold x the filter's largest activation and that largest activation is positive.
std::vector<FilterMotif> filter_motifs(const ConvFilters& filters, const uint8_t* codes,
                                       int64_t sequences, int64_t length, double threshold = 0.5);

}  // namespace strand::interpret
