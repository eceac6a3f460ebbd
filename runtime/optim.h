// Optimizers with fused per-tensor update kernels (SGD with momentum/Nesterov/weight decay, Adam,
// AdamW) and global-norm gradient clipping. Parameters without a gradient are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kernels/optim/optim.h"
#include "runtime/tensor.h"

namespace strand::runtime {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  const std::vector<Tensor>& params() const { return params_; }
  int64_t steps() const { return steps_; }
  // Named state tensors (for checkpoints) and the step count.
  virtual std::vector<std::pair<std::string, Tensor>> state() const = 0;
  // Restores what state() returned (same names and shapes).
  void load_state(const std::vector<std::pair<std::string, Tensor>>& state, int64_t steps);

 protected:
  // Called after load_state copied the saved tensors in (SGD: its momentum buffers now hold
  // history).
  virtual void state_loaded() {}
  std::vector<Tensor> params_;
  int64_t steps_ = 0;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, kernels::SgdConfig config);
  void step() override;
  double lr() const override { return config_.lr; }
  void set_lr(double lr) override { config_.lr = lr; }
  std::vector<std::pair<std::string, Tensor>> state() const override;

 protected:
  void state_loaded() override;

 private:
  kernels::SgdConfig config_;
  std::vector<Tensor> momentum_;
  std::vector<bool> started_;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, kernels::AdamConfig config);
  void step() override;
  double lr() const override { return config_.lr; }
  void set_lr(double lr) override { config_.lr = lr; }
  std::vector<std::pair<std::string, Tensor>> state() const override;

 private:
  kernels::AdamConfig config_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
};

// AdamW: Adam with decoupled weight decay (default 0.01, as in PyTorch).
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, kernels::AdamConfig config = {.weight_decay = 0.01});
};

// Scales all gradients by min(1, max_norm / total_norm) and returns the total L2 norm before
// clipping. On CUDA the scaling reads the norm on the device; returning it waits for the device.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace strand::runtime
