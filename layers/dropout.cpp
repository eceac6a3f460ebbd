// Dropout layer (see dropout.h).
#include "layers/dropout.h"

#include "core/error.h"
#include "runtime/ops.h"

namespace strand::layers {

Dropout::Dropout(double p) : Module("Dropout"), p_(p) {
  STRAND_CHECK(p >= 0.0 && p < 1.0, "Dropout: probability must be in [0, 1), got {}", p);
}

Tensor Dropout::forward(const Tensor& x) {
  return runtime::dropout(x, p_, is_training(), runtime::default_generator());
}

std::string Dropout::extra_repr() const { return format("p={}", p_); }

}  // namespace strand::layers
