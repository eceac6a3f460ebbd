// Conv1d layer (see conv.h).
#include "layers/conv.h"

#include "core/checked.h"
#include "core/error.h"
#include "layers/autocast.h"
#include "layers/init.h"

namespace strand::layers {

Conv1d::Conv1d(const Conv1dConfig& c) : Module("Conv1d"), config_(c) {
  STRAND_CHECK(c.in_channels > 0 && c.out_channels > 0 && c.kernel_size > 0,
               "Conv1d: channels ({} -> {}) and kernel size {} must be positive", c.in_channels,
               c.out_channels, c.kernel_size);
  STRAND_CHECK(c.groups > 0 && c.in_channels % c.groups == 0 && c.out_channels % c.groups == 0,
               "Conv1d: {} input and {} output channels must divide into {} groups", c.in_channels,
               c.out_channels, c.groups);
  STRAND_CHECK(c.stride > 0 && c.dilation > 0 && c.padding >= 0,
               "Conv1d: stride ({}) and dilation ({}) must be positive and padding ({}) >= 0",
               c.stride, c.dilation, c.padding);
  options_.stride = c.stride;
  options_.pad_left = options_.pad_right = c.padding;
  options_.dilation = c.dilation;
  options_.groups = c.groups;
  options_.same_padding = c.same_padding;
  const int64_t fan_in = checked_mul(c.in_channels / c.groups, c.kernel_size, "Conv1d fan-in");
  weight_ = fan_in_init({c.out_channels, c.in_channels / c.groups, c.kernel_size}, fan_in);
  register_parameter("weight", &weight_);
  if (c.bias) {
    bias_ = fan_in_init({c.out_channels}, fan_in);
    register_parameter("bias", &bias_);
  }
}

Tensor Conv1d::forward(const Tensor& x) {
  // Autocast: bf16 weights (and a bf16 input unless it is base codes), fp32 out.
  const bool bf16 = autocast_applies(x) || (x.dtype() == DType::kU8 && autocast_applies(weight_));
  if (bf16) {
    const Tensor w = to_bf16(weight_), b = to_bf16(bias_);
    const Tensor y = x.dtype() == DType::kU8 ? runtime::conv1d_bases(x, w, b, options_)
                                             : runtime::conv1d(to_bf16(x), w, b, options_);
    return y.to(DType::kF32);
  }
  if (x.dtype() == DType::kU8) {
    STRAND_CHECK(
        config_.in_channels == 4 && config_.groups == 1,
        "Conv1d: base-code input needs in_channels 4 and groups 1, this layer has {} and {}",
        config_.in_channels, config_.groups);
    return runtime::conv1d_bases(x, weight_, bias_, options_);
  }
  return runtime::conv1d(x, weight_, bias_, options_);
}

Tensor Conv1d::forward_relu_max_pool(const Tensor& x, int64_t pool) {
  if (x.dtype() == DType::kU8) {  // base codes: the one-hot first layer's fused kernel
    if (autocast_applies(weight_)) {
      return runtime::conv1d_bases_relu_max_pool1d_inference(x, to_bf16(weight_), to_bf16(bias_),
                                                             pool, options_)
          .to(DType::kF32);
    }
    return runtime::conv1d_bases_relu_max_pool1d_inference(x, weight_, bias_, pool, options_);
  }
  if (autocast_applies(x)) {  // as forward: bf16 operands, fp32 out
    return runtime::conv1d_relu_max_pool1d_inference(to_bf16(x), to_bf16(weight_), to_bf16(bias_),
                                                     pool, options_)
        .to(DType::kF32);
  }
  return runtime::conv1d_relu_max_pool1d_inference(x, weight_, bias_, pool, options_);
}

int64_t Conv1d::out_length(int64_t in_length) const {
  if (config_.same_padding) return in_length;
  const int64_t span = checked_mul(config_.dilation, config_.kernel_size - 1, "Conv1d span");
  const int64_t padded =
      checked_add(in_length, checked_mul(2, config_.padding, "Conv1d padding"), "Conv1d input");
  return (padded - span - 1) / config_.stride + 1;
}

std::string Conv1d::extra_repr() const {
  return format("{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}",
                config_.in_channels, config_.out_channels, config_.kernel_size, config_.stride,
                config_.same_padding ? std::string("same") : std::to_string(config_.padding),
                config_.dilation, config_.groups);
}

}  // namespace strand::layers
