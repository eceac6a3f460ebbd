// Normalisation layers, as PyTorch defines them: BatchNorm1d (batch statistics in training,
// running statistics in eval; mixes examples, so DP-SGD refuses it), LayerNorm (over the last
// dimensions) and GroupNorm (per example over channel groups: the DP-safe choice for CNNs).
#pragma once

#include "layers/module.h"

namespace strand::layers {

class BatchNorm1d : public Module {
 public:
  explicit BatchNorm1d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override;  // [N, C] or [N, C, L]
  // max_pool1d(relu(forward(x))) for x [N, C, L]: in training one fused node (equal values and
  // gradients, less memory traffic); in eval mode on the CPU without gradient recording, one
  // inference pass (runtime::relu_max_pool1d_inference). Sequential calls it for BatchNorm1d,
  // ReLU, MaxPool1d.
  Tensor forward_relu_max_pool(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding);
  int64_t channels() const { return channels_; }
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }

 protected:
  std::string extra_repr() const override;

 private:
  int64_t channels_;
  double eps_, momentum_;
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(runtime::Shape normalized_shape, double eps = 1e-5);
  Tensor forward(const Tensor& x) override;
  const runtime::Shape& normalized_shape() const { return shape_; }
  double eps() const { return eps_; }

 protected:
  std::string extra_repr() const override;

 private:
  runtime::Shape shape_;
  double eps_;
  Tensor weight_, bias_;
};

class GroupNorm : public Module {
 public:
  GroupNorm(int64_t groups, int64_t channels, double eps = 1e-5);
  Tensor forward(const Tensor& x) override;  // [N, C, ...]
  int64_t groups() const { return groups_; }
  int64_t channels() const { return channels_; }
  double eps() const { return eps_; }

 protected:
  std::string extra_repr() const override;

 private:
  int64_t groups_, channels_;
  double eps_;
  Tensor weight_, bias_;
};

}  // namespace strand::layers
