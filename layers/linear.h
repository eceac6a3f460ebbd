// Linear: y = x W^T + b over the last dimension, PyTorch's nn.Linear (weight [out, in], bias [out],
// both initialised uniform in +-1/sqrt(in)).
#pragma once

#include "layers/module.h"
#include "runtime/ops.h"  // kernels::MathMode, part of the matmul op's signature

namespace strand::layers {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  // CUDA fp32 products exact (FMA) or on TF32 tensor cores (layers/gpu_math.h).
  void set_math_mode(kernels::MathMode mode) { mode_ = mode; }
  kernels::MathMode math_mode() const { return mode_; }

 protected:
  std::string extra_repr() const override;

 private:
  int64_t in_, out_;
  Tensor weight_, bias_;
  kernels::MathMode mode_ = kernels::MathMode::kExact;
};

}  // namespace strand::layers
