// The DP-SGD engine: per-example gradient clipping and Gaussian noise through the autograd hooks,
// without changing any op. Before backward it walks the graph from the loss and finds every op
// that consumes a parameter; each op's per-example rule, written beside the op in runtime/ops
// (runtime/per_example.h), says which of its inputs may be parameters. The engine tells those
// nodes to skip the parameter's ordinary gradient and hooks them so the rule captures what it
// needs. After one backward each rule adds its examples' squared gradient norms
// (kernels/per_sample_norm: ghost or materialized, chosen per layer), the engine forms the clip
// factors min(1, C / ||G_i||), and each rule returns the clipped sum sum_i min(1, C/||G_i||) G_i
// by one reweighted weight-gradient pass ("book-keeping": each example's output gradient scaled
// by its factor), written into each parameter's .grad. add_noise then adds N(0, (sigma C)^2) from
// a Philox generator (the same draws on CPU and CUDA) and divides by the expected batch size.
// A model the rules do not cover (an op that mixes examples, such as batch_norm, or a parameter
// used by an op without a rule) is refused with runtime::DpSgdUnsupported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kernels/per_sample_norm/per_sample_norm.h"
#include "runtime/rng.h"
#include "runtime/tensor.h"

namespace strand::runtime {

struct PerSampleOptions {
  double max_grad_norm = 1.0;  // C > 0
  // Forces one method for every layer (tests); otherwise the cost model picks per layer.
  std::optional<kernels::NormMethod> method = std::nullopt;
};

// What the last backward saw, per parameter-consuming op.
struct PerSampleLayerInfo {
  std::string op;          // the node's name ("linear", "conv1d", "lstm", "mul", ...)
  std::string parameters;  // their names, comma-separated
  std::string method;      // "ghost", "materialized" or "elementwise"
};

class PerSampleClipper {
 public:
  // named_parameters: the model's trainable parameters (names appear in errors).
  PerSampleClipper(std::vector<std::pair<std::string, Tensor>> named_parameters,
                   PerSampleOptions options);

  // Backpropagates from loss, whose gradient for example i must be loss_scale times the gradient
  // of example i's own loss (the mean of batch_size per-example losses: loss_scale = batch_size;
  // their sum: 1). Leaves in each parameter's .grad (added to what is there) the clipped sum
  // sum_i min(1, C / ||g_i||) g_i over the batch_size examples (dimension 0 of every layer's
  // input), and returns the per-example gradient norms before clipping ([batch_size], on the
  // loss's device). Parameters the loss does not reach get zero contributions.
  Tensor backward(const Tensor& loss, int64_t batch_size, double loss_scale);

  // grad += N(0, (noise_multiplier * C)^2), then grad /= expected_batch_size, for every parameter
  // (noise even where a parameter got no gradient: the mechanism must not depend on the data).
  void add_noise(Generator& gen, double noise_multiplier, double expected_batch_size);

  const std::vector<PerSampleLayerInfo>& layers() const { return layers_; }
  const PerSampleOptions& options() const { return options_; }

  struct Record;  // one hooked op (per_sample.cpp)

 private:
  std::vector<std::pair<std::string, Tensor>> params_;
  PerSampleOptions options_;
  std::vector<PerSampleLayerInfo> layers_;
};

}  // namespace strand::runtime
