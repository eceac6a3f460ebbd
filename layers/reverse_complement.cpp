// Reverse complements of base codes and one-hot DNA, and the averaging wrapper (see
// reverse_complement.h).
#include "layers/reverse_complement.h"

#include <vector>

#include "core/error.h"
#include "runtime/ops.h"

namespace strand::layers {
namespace {

Tensor reversed_index(int64_t n, const Device& device) {
  std::vector<int64_t> index(n);
  for (int64_t i = 0; i < n; ++i) index[i] = n - 1 - i;
  return runtime::from_vector(index, {n}).to(device);
}

}  // namespace

Tensor reverse_complement(const Tensor& x) {
  if (x.dtype() == DType::kU8) {
    STRAND_CHECK(x.dim() == 2, "reverse_complement: base codes must be [N, L], got shape {}",
                 runtime::shape_str(x.shape()));
    // Codes carry no gradient, and an eval-time flip of [N, L] bytes is cheap next to the model:
    // it is done on the host.
    const int64_t n = x.size(0), length = x.size(1);
    const auto codes = x.to_vector<uint8_t>();
    std::vector<uint8_t> out(codes.size());
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < length; ++j) {
        const uint8_t c = codes[i * length + (length - 1 - j)];
        out[i * length + j] = c < 4 ? static_cast<uint8_t>(3 - c) : c;
      }
    }
    return runtime::from_vector(out, {n, length}).to(x.device());
  }
  STRAND_CHECK(x.dim() == 3 && x.size(1) == 4,
               "reverse_complement: expected base codes (u8 [N, L]) or one-hot DNA ([N, 4, L]), "
               "got {} of shape {}",
               x.dtype(), runtime::shape_str(x.shape()));
  // Channels A, C, G, T complement to T, G, C, A: the channel order reversed.
  const Tensor flipped = runtime::index_select(x, 2, reversed_index(x.size(2), x.device()));
  return runtime::index_select(flipped, 1, reversed_index(4, x.device()));
}

ReverseComplementAverage::ReverseComplementAverage(std::shared_ptr<Module> model)
    : Module("ReverseComplementAverage"), model_(std::move(model)) {
  STRAND_CHECK(model_ != nullptr, "ReverseComplementAverage: no model to wrap");
  register_module("model", model_);
  train(model_->is_training());
}

Tensor ReverseComplementAverage::forward(const Tensor& x) {
  const Tensor forward_out = (*model_)(x);
  const Tensor reverse_out = (*model_)(reverse_complement(x));
  return (forward_out + reverse_out) * 0.5;
}

}  // namespace strand::layers
