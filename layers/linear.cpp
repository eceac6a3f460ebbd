// Linear layer (see linear.h).
#include "layers/linear.h"

#include "core/error.h"
#include "layers/autocast.h"
#include "layers/init.h"
#include "runtime/ops.h"

namespace strand::layers {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias)
    : Module("Linear"), in_(in_features), out_(out_features) {
  STRAND_CHECK(in_features > 0 && out_features > 0,
               "Linear: in_features ({}) and out_features ({}) must be positive", in_features,
               out_features);
  weight_ = fan_in_init({out_, in_}, in_);
  register_parameter("weight", &weight_);
  if (bias) {
    bias_ = fan_in_init({out_}, in_);
    register_parameter("bias", &bias_);
  }
}

Tensor Linear::forward(const Tensor& x) {
  if (autocast_applies(x))
    return runtime::linear(to_bf16(x), to_bf16(weight_), to_bf16(bias_), mode_).to(DType::kF32);
  return runtime::linear(x, weight_, bias_, mode_);
}

std::string Linear::extra_repr() const {
  return format("in_features={}, out_features={}, bias={}", in_, out_, bias_.defined());
}

}  // namespace strand::layers
