// Model outputs for single-base substitutions of reference sequences: what in-silico mutagenesis
// and SNV scoring both need. Two ways, equal up to float rounding:
//   naive: every mutated sequence runs through the whole model;
//   fast (the fastISM idea, Nair et al. 2022): for a Sequential whose first layers are
//     position-local (Conv1d, MaxPool1d/AvgPool1d, BatchNorm1d in eval, activations, Dropout in
//     eval), the reference activations are computed once, and a mutation recomputes only the
//     window of each local layer's output that its receptive field reaches. A convolution adds
//     conv(mutated - reference) over that window to the cached output (linearity), so its cost is
//     the changed input positions x taps, one GEMM for a whole batch of mutations; pooling and
//     point-wise layers recompute the window. After the local layers, a Flatten + Linear head
//     adds W[:, changed positions] x change to the cached reference product; any other layer
//     (LSTM/GRU, LayerNorm/GroupNorm, branches, a global pool) runs in full on the spliced
//     activation. Padding, stride, dilation, groups and pooling windows are handled exactly, so
//     windows reaching the sequence ends are clipped as the layers themselves pad.
// Models with no local first layer (or not a convolution first) fall back to naive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace strand::interpret {

struct Mutation {
  int64_t row = 0;       // which reference sequence
  int64_t position = 0;  // 0-based, within the model's input length
  uint8_t base = 0;      // the new base, 0..3 (A, C, G, T)
};

class MutationScorer {
 public:
  // model: CPU float32 (put in eval mode here); length: its input length. naive: never the fast
  // path (the reference a benchmark and the tests compare with).
  MutationScorer(layers::Sequential& model, int64_t length, bool naive = false);
  ~MutationScorer();
  MutationScorer(const MutationScorer&) = delete;
  MutationScorer& operator=(const MutationScorer&) = delete;

  bool fast() const;
  // Why the fast path does not apply (empty when it does, or when naive was asked for).
  const std::string& fallback_reason() const;
  // One line: which layers run as windows and what runs in full ("fast: 9 local layers, then
  // flatten + linear head (2 more layers)").
  std::string describe() const;
  int64_t length() const;
  int64_t outputs() const;

  // Sets the reference sequences (base codes, [rows, length], code 4 = unknown) and returns their
  // raw outputs (logits) [rows, outputs].
  std::vector<float> set_references(const uint8_t* codes, int64_t rows);
  // Raw outputs [mutations, outputs] of the current references with each mutation applied alone.
  std::vector<float> score(const std::vector<Mutation>& mutations);
  // Raw outputs [rows, outputs] of any sequences (the whole model; the references stay).
  std::vector<float> outputs_of(const uint8_t* codes, int64_t rows);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strand::interpret
