// Pooling layers (see pool.h).
#include "layers/pool.h"

#include "core/error.h"
#include "runtime/ops.h"

namespace strand::layers {

Pool1d::Pool1d(Kind kind, int64_t kernel, int64_t stride, int64_t padding)
    : Module(kind == Kind::kMax ? "MaxPool1d" : "AvgPool1d"),
      kind_(kind),
      kernel_(kernel),
      stride_(stride < 0 ? kernel : stride),
      padding_(padding) {
  STRAND_CHECK(kernel > 0 && stride_ > 0 && padding >= 0,
               "{}: kernel {} and stride {} must be positive, padding {} non-negative", type_name(),
               kernel, stride_, padding);
}

Tensor Pool1d::forward(const Tensor& x) {
  return kind_ == Kind::kMax ? runtime::max_pool1d(x, kernel_, stride_, padding_)
                             : runtime::avg_pool1d(x, kernel_, stride_, padding_);
}

std::string Pool1d::extra_repr() const {
  return format("kernel_size={}, stride={}, padding={}", kernel_, stride_, padding_);
}

}  // namespace strand::layers
