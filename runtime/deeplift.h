// What the ops' DeepLIFT rules share (the rules themselves live beside each op in runtime/ops;
// the engine side is DeepLiftRecorder and deeplift_grad in autograd.h).
#pragma once

#include <vector>

#include "runtime/autograd.h"
#include "runtime/ops.h"

namespace strand::runtime {

// DeepLIFT's rescale rule: contribution / delta_in (the multiplier whose product with delta_in
// gives the contribution), or fallback (the gradient) where |delta_in| < eps (1e-6, as tangermeme
// and Captum).
inline constexpr double kDeepLiftEps = 1e-6;
Tensor deeplift_rescale(const Tensor& delta_in, const Tensor& contribution, const Tensor& fallback,
                        double eps = kDeepLiftEps);

// The rule of an op linear in its input for a fixed weight (linear, conv1d): the gradient, once
// the weight is checked to be the same tensor in the reference's pass. Saved is the op's saved
// state (Saved::of(node).weight).
void check_fixed_weight(const char* op, const Tensor& weight, const Tensor& reference_weight);
template <typename Saved>
DeepLiftFn deeplift_fixed_weight(const char* op) {
  return [op](Node& n, Node& ref, const Grads& g) -> Grads {
    check_fixed_weight(op, Saved::of(n).weight, Saved::of(ref).weight);
    return n.run_backward(g);
  };
}

// The same recurrence as rnn() (no lengths, no dropout), unrolled into gates made of elementwise
// ops and products: what the LSTM/GRU rule differentiates. Slow; for attribution only.
RnnResult rnn_unrolled(const Tensor& input, const std::vector<Tensor>& weights,
                       const RnnOptions& options, const Tensor& h0 = Tensor(),
                       const Tensor& c0 = Tensor());

}  // namespace strand::runtime
