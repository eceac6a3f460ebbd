// Parameter initialisation as PyTorch does it, drawn from the default generator (seeded by
// runtime::manual_seed), so a seed fixes a model's initial weights.
#pragma once

#include "runtime/tensor.h"

namespace strand::layers {

// Uniform in [-bound, bound].
runtime::Tensor uniform_init(const runtime::Shape& shape, double bound);
// PyTorch's default for Linear/Conv/LSTM weights and biases: bound = 1/sqrt(fan_in).
runtime::Tensor fan_in_init(const runtime::Shape& shape, int64_t fan_in);

}  // namespace strand::layers
