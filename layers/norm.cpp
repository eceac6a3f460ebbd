// Normalisation layers, composed from runtime ops so autograd differentiates them (see norm.h).
#include "layers/norm.h"

#include <cmath>

#include "core/error.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"

namespace strand::layers {
namespace {

using namespace runtime;

// (x - mean) / sqrt(var + eps) over dims, with the biased variance (as PyTorch normalises).
Tensor normalize(const Tensor& x, const std::vector<int64_t>& dims, double eps) {
  const Tensor centered = x - mean(x, dims, true);
  return centered / sqrt(mean(centered * centered, dims, true) + eps);
}

// A per-channel [C] tensor shaped to broadcast over [N, C, ...].
Tensor per_channel(const Tensor& t, int64_t ndim) {
  Shape shape(ndim - 1, 1);
  shape[0] = t.numel();
  return t.reshape(shape);
}

}  // namespace

BatchNorm1d::BatchNorm1d(int64_t channels, double eps, double momentum)
    : Module("BatchNorm1d"), channels_(channels), eps_(eps), momentum_(momentum) {
  STRAND_CHECK(channels > 0, "BatchNorm1d: channels must be positive, got {}", channels);
  STRAND_CHECK(eps > 0 && std::isfinite(eps), "BatchNorm1d: eps must be positive, got {}", eps);
  weight_ = ones({channels});
  bias_ = zeros({channels});
  running_mean_ = zeros({channels});
  running_var_ = ones({channels});
  num_batches_tracked_ = zeros({}, {.dtype = DType::kI64});
  register_parameter("weight", &weight_);
  register_parameter("bias", &bias_);
  register_buffer("running_mean", &running_mean_);
  register_buffer("running_var", &running_var_);
  register_buffer("num_batches_tracked", &num_batches_tracked_);
}

Tensor BatchNorm1d::forward(const Tensor& x) {
  STRAND_CHECK((x.dim() == 2 || x.dim() == 3) && x.shape()[1] == channels_,
               "BatchNorm1d({}): input must be [N, {}] or [N, {}, L], got {}", channels_, channels_,
               channels_, x.shape());
  if (is_training()) num_batches_tracked_.fill_(num_batches_tracked_.item() + 1);
  return batch_norm(x, weight_, bias_, running_mean_, running_var_, is_training(), momentum_, eps_);
}

Tensor BatchNorm1d::forward_relu_max_pool(const Tensor& x, int64_t kernel, int64_t stride,
                                          int64_t padding) {
  STRAND_CHECK(x.dim() == 3 && x.shape()[1] == channels_,
               "BatchNorm1d({}): input must be [N, {}, L], got {}", channels_, channels_,
               x.shape());
  if (!is_training()) {
    return relu_max_pool1d_inference(x, kernel, stride, padding, weight_, bias_, running_mean_,
                                     running_var_, eps_);
  }
  num_batches_tracked_.fill_(num_batches_tracked_.item() + 1);
  return batch_norm_relu_max_pool1d(x, weight_, bias_, running_mean_, running_var_, momentum_, eps_,
                                    kernel, stride, padding);
}

std::string BatchNorm1d::extra_repr() const {
  return format("{}, eps={}, momentum={}", channels_, eps_, momentum_);
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps)
    : Module("LayerNorm"), shape_(std::move(normalized_shape)), eps_(eps) {
  STRAND_CHECK(!shape_.empty(), "LayerNorm: normalized_shape must not be empty");
  STRAND_CHECK(eps > 0 && std::isfinite(eps), "LayerNorm: eps must be positive, got {}", eps);
  weight_ = ones(shape_);
  bias_ = zeros(shape_);
  register_parameter("weight", &weight_);
  register_parameter("bias", &bias_);
}

Tensor LayerNorm::forward(const Tensor& x) {
  const int64_t k = static_cast<int64_t>(shape_.size());
  STRAND_CHECK(x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == shape_,
               "LayerNorm({}): input's last dimensions must be {}, got shape {}", shape_, shape_,
               x.shape());
  std::vector<int64_t> dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  return normalize(x, dims, eps_) * weight_ + bias_;
}

std::string LayerNorm::extra_repr() const { return format("{}, eps={}", shape_, eps_); }

GroupNorm::GroupNorm(int64_t groups, int64_t channels, double eps)
    : Module("GroupNorm"), groups_(groups), channels_(channels), eps_(eps) {
  STRAND_CHECK(groups > 0 && channels > 0 && channels % groups == 0,
               "GroupNorm: {} channels must divide into {} groups", channels, groups);
  STRAND_CHECK(eps > 0 && std::isfinite(eps), "GroupNorm: eps must be positive, got {}", eps);
  weight_ = ones({channels});
  bias_ = zeros({channels});
  register_parameter("weight", &weight_);
  register_parameter("bias", &bias_);
}

Tensor GroupNorm::forward(const Tensor& x) {
  STRAND_CHECK(x.dim() >= 2 && x.shape()[1] == channels_,
               "GroupNorm({}, {}): input must be [N, {}, ...], got {}", groups_, channels_,
               channels_, x.shape());
  const Tensor grouped = x.reshape({x.shape()[0], groups_, -1});
  const Tensor y = normalize(grouped, {2}, eps_).reshape(x.shape());
  return y * per_channel(weight_, x.dim()) + per_channel(bias_, x.dim());
}

std::string GroupNorm::extra_repr() const {
  return format("{}, {}, eps={}", groups_, channels_, eps_);
}

}  // namespace strand::layers
