// Optimizer steps through the fused kernels of kernels/optim.h.
#include "runtime/optim.h"

#include <cmath>

#include "runtime/autograd.h"
#include "runtime/dispatch.h"

namespace strand::runtime {
namespace {

void check_param(const Tensor& p, size_t i) {
  STRAND_CHECK(p.defined() && p.is_leaf() && is_floating(p.dtype()),
               "optimizer: parameter {} must be a defined floating leaf tensor", i);
  STRAND_CHECK(p.is_contiguous(), "optimizer: parameter {} (shape {}) must be contiguous", i,
               p.shape());
}

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {
  for (size_t i = 0; i < params_.size(); ++i) check_param(params_[i], i);
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void Optimizer::load_state(const std::vector<std::pair<std::string, Tensor>>& saved,
                           int64_t steps) {
  const auto mine = state();
  STRAND_CHECK(saved.size() == mine.size(), "optimizer state has {} tensors, expected {}",
               saved.size(), mine.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    STRAND_CHECK(
        saved[i].first == mine[i].first && saved[i].second.shape() == mine[i].second.shape(),
        "optimizer state entry {} is '{}' {}, expected '{}' {}", i, saved[i].first,
        saved[i].second.shape(), mine[i].first, mine[i].second.shape());
    Tensor target = mine[i].second;
    target.copy_(saved[i].second);
  }
  steps_ = steps;
  state_loaded();
}

SGD::SGD(std::vector<Tensor> params, kernels::SgdConfig config)
    : Optimizer(std::move(params)), config_(config) {
  STRAND_CHECK(config.lr >= 0 && config.momentum >= 0 && config.weight_decay >= 0,
               "SGD: lr {}, momentum {} and weight_decay {} must be non-negative", config.lr,
               config.momentum, config.weight_decay);
  STRAND_CHECK(!config.nesterov || (config.momentum > 0 && config.dampening == 0),
               "SGD: Nesterov momentum needs momentum > 0 and dampening 0");
  for (const Tensor& p : params_) {
    momentum_.push_back(config.momentum > 0 ? zeros_like(p) : Tensor());
    started_.push_back(false);
  }
}

void SGD::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    const Tensor g = p.grad().defined() ? p.grad().contiguous() : Tensor();
    if (!g.defined()) continue;
    const kernels::Context ctx = context_for(p.device());
    dispatch_floating(p.dtype(), "SGD", [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(p.device(), sgd_step<T>, ctx, p.numel(), config_, !started_[i],
                             p.data<T>(), g.data<T>(),
                             momentum_[i].defined() ? momentum_[i].data<T>() : nullptr);
    });
    started_[i] = true;
  }
  ++steps_;
}

// Loaded momentum buffers carry history: the next step must not re-initialise them with g.
void SGD::state_loaded() {
  if (steps_ == 0) return;
  for (size_t i = 0; i < momentum_.size(); ++i) started_[i] = momentum_[i].defined();
}

std::vector<std::pair<std::string, Tensor>> SGD::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < momentum_.size(); ++i) {
    if (momentum_[i].defined()) out.emplace_back("momentum." + std::to_string(i), momentum_[i]);
  }
  return out;
}

Adam::Adam(std::vector<Tensor> params, kernels::AdamConfig config)
    : Optimizer(std::move(params)), config_(config) {
  STRAND_CHECK(config.lr >= 0 && config.eps >= 0 && config.weight_decay >= 0,
               "Adam: lr {}, eps {} and weight_decay {} must be non-negative", config.lr,
               config.eps, config.weight_decay);
  STRAND_CHECK(config.beta1 >= 0 && config.beta1 < 1 && config.beta2 >= 0 && config.beta2 < 1,
               "Adam: betas ({}, {}) must lie in [0, 1)", config.beta1, config.beta2);
  for (const Tensor& p : params_) {
    exp_avg_.push_back(zeros_like(p));
    exp_avg_sq_.push_back(zeros_like(p));
  }
}

void Adam::step() {
  NoGradGuard no_grad;
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    const Tensor g = p.grad().defined() ? p.grad().contiguous() : Tensor();
    if (!g.defined()) continue;
    const kernels::Context ctx = context_for(p.device());
    dispatch_floating(p.dtype(), "Adam", [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(p.device(), adam_step<T>, ctx, p.numel(), config_, steps_, p.data<T>(),
                             g.data<T>(), exp_avg_[i].data<T>(), exp_avg_sq_[i].data<T>());
    });
  }
}

std::vector<std::pair<std::string, Tensor>> Adam::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < exp_avg_.size(); ++i) {
    out.emplace_back("exp_avg." + std::to_string(i), exp_avg_[i]);
    out.emplace_back("exp_avg_sq." + std::to_string(i), exp_avg_sq_[i]);
  }
  return out;
}

AdamW::AdamW(std::vector<Tensor> params, kernels::AdamConfig config)
    : Adam(std::move(params), [&] {
        config.decoupled_weight_decay = true;
        return config;
      }()) {}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  STRAND_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be positive, got {}", max_norm);
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return 0.0;
  const Device device = grads[0].device();
  for (const Tensor& g : grads) {
    STRAND_CHECK(g.device() == device && g.is_contiguous(),
                 "clip_grad_norm: gradients must be contiguous and on one device");
  }
  // The running total lives where the gradients live, so CUDA clipping needs no host round trip.
  Tensor total = zeros({1}, {.dtype = DType::kF64, .device = device});
  const kernels::Context ctx = context_for(device);
  for (const Tensor& g : grads) {
    dispatch_floating(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(device, accumulate_squares<T>, ctx, g.numel(), g.data<T>(),
                             total.data<double>());
    });
  }
  for (Tensor& g : grads) {
    dispatch_floating(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(device, clip_by_total_norm<T>, ctx, g.numel(), g.data<T>(),
                             total.data<double>(), max_norm);
    });
  }
  return std::sqrt(total.item());
}

}  // namespace strand::runtime
