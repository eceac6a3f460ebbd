// In-silico saturation mutagenesis (ISM): the change of a model's outputs when each position of a
// sequence, or of a window of it, is replaced by each other base, through MutationScorer (the
// receptive-field fast path where the model allows it).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "interpret/mutation_scorer.h"

namespace strand::interpret {

struct IsmOptions {
  int64_t start = 0, end = 0;  // positions [start, end) to mutate; end 0: to the sequence's end
  std::vector<int64_t> tasks;  // output indices to keep, in this order; empty: every output
  bool rc_average = false;     // outputs averaged over both strands (as --rc-average predicts)
  int64_t batch_size = 512;    // mutated sequences scored together
  // Called after each batch with (mutations done, mutations in all); may be empty.
  std::function<void(int64_t, int64_t)> progress;
};

struct IsmResult {
  int64_t tasks = 0, width = 0;
  // [tasks, 4, width]: output(sequence with base b at position start + i) - output(sequence), on
  // the raw outputs (logits); 0 at the reference base. An unknown reference base (N) has all four.
  std::vector<float> effects;
  std::vector<float> reference;  // [tasks]: the raw outputs of the sequence itself
};

// ISM of one sequence of scorer.length() base codes.
IsmResult saturation_mutagenesis(MutationScorer& scorer, const uint8_t* codes,
                                 const IsmOptions& options);

// Effects with the mean over the four bases subtracted at each position and task (the usual
// display: what each base adds relative to the average base there).
std::vector<float> mean_centered(const IsmResult& result);

}  // namespace strand::interpret
