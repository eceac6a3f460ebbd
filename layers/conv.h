// Conv1d: PyTorch's nn.Conv1d (weight [out, in/groups, K], bias [out], uniform +-1/sqrt(fan_in)
// initialisation). Given DNA as base codes (u8 [N, L]) instead of a float [N, 4, L] one-hot, it
// runs the multiplication-free one-hot path, with the same weights and the same result.
#pragma once

#include "layers/module.h"
#include "runtime/ops.h"

namespace strand::layers {

struct Conv1dConfig {
  int64_t in_channels = 4, out_channels = 1, kernel_size = 1;
  int64_t stride = 1;
  int64_t padding = 0;        // on both sides
  bool same_padding = false;  // PyTorch's padding="same" (stride 1)
  int64_t dilation = 1, groups = 1;
  bool bias = true;
};

class Conv1d : public Module {
 public:
  explicit Conv1d(const Conv1dConfig& config);
  Tensor forward(const Tensor& x) override;
  // max_pool1d(relu(forward(x)), pool) (window = stride = pool, no padding) for CUDA inference
  // without gradient recording, fused (runtime::conv1d_relu_max_pool1d_inference; for base codes
  // runtime::conv1d_bases_relu_max_pool1d_inference).
  Tensor forward_relu_max_pool(const Tensor& x, int64_t pool);
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  const Conv1dConfig& config() const { return config_; }
  // GPU arithmetic and algorithm (fp32/tf32, custom/cuDNN/auto); bf16 follows the tensors' dtype.
  void set_gpu_options(const kernels::Conv1dGpuOptions& gpu) { options_.gpu = gpu; }
  const kernels::Conv1dGpuOptions& gpu_options() const { return options_.gpu; }
  int64_t out_length(int64_t in_length) const;

 protected:
  std::string extra_repr() const override;

 private:
  Conv1dConfig config_;
  runtime::Conv1dOptions options_;
  Tensor weight_, bias_;
};

}  // namespace strand::layers
