// ZeRO-1: reduce-scatter, shard update, all-gather (zero_optimizer.h).
#include "runtime/zero_optimizer.h"

#include "core/error.h"
#include "runtime/autograd.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"

namespace strand::runtime {

ZeroOptimizer::ZeroOptimizer(std::shared_ptr<Communicator> comm, std::vector<Tensor> params,
                             const Factory& make_shard_optimizer)
    : Optimizer(std::move(params)), comm_(std::move(comm)) {
  STRAND_CHECK(comm_ != nullptr, "ZeroOptimizer needs a communicator");
  STRAND_CHECK(!params_.empty(), "ZeroOptimizer: no parameters");
  const DType dtype = params_[0].dtype();
  for (size_t i = 0; i < params_.size(); ++i) {
    STRAND_CHECK(params_[i].dtype() == dtype,
                 "ZeroOptimizer: parameter {} is {} but parameter 0 is {}; the flat shards need "
                 "one dtype",
                 i, params_[i].dtype(), dtype);
    STRAND_CHECK(params_[i].device() == comm_->device(),
                 "ZeroOptimizer: parameter {} is on {} but the communicator is on {}", i,
                 params_[i].device().str(), comm_->device().str());
    total_ += params_[i].numel();
  }
  const int64_t n = comm_->size();
  shard_size_ = std::max<int64_t>(1, (total_ + n - 1) / n);
  const TensorOptions o{.dtype = dtype, .device = comm_->device()};
  flat_grad_ = zeros({n * shard_size_}, o);
  flat_param_ = zeros({n * shard_size_}, o);
  shard_grad_ = zeros({shard_size_}, o);
  shard_param_ = zeros({shard_size_}, o);
  shard_param_.set_requires_grad(true);
  const int64_t first = comm_->rank() * shard_size_;
  {
    NoGradGuard no_grad;
    int64_t offset = 0;
    for (const Tensor& p : params_) {
      flat_param_.slice(0, offset, offset + p.numel()).copy_(p.reshape({p.numel()}));
      offset += p.numel();
    }
    shard_param_.copy_(flat_param_.slice(0, first, first + shard_size_));
  }
  shard_optimizer_ = make_shard_optimizer({shard_param_});
  STRAND_CHECK(shard_optimizer_ != nullptr, "ZeroOptimizer: the factory returned no optimizer");
}

void ZeroOptimizer::prepare(double weight, double total_weight) {
  STRAND_CHECK(weight >= 0 && total_weight > 0 && weight <= total_weight * (1 + 1e-12),
               "ZeroOptimizer::prepare: weight {} must lie in [0, total weight {}] and the total "
               "must be positive",
               weight, total_weight);
  scale_ = weight / total_weight;
  scaled_ = true;
}

void ZeroOptimizer::step() {
  NoGradGuard no_grad;
  const double scale = scaled_ ? scale_ : 1.0 / comm_->size();
  scaled_ = false;
  const int64_t first = comm_->rank() * shard_size_;
  int64_t offset = 0;
  for (const Tensor& p : params_) {
    const int64_t n = p.numel();
    Tensor grad_slot = flat_grad_.slice(0, offset, offset + n);
    const Tensor g = p.grad();
    if (g.defined()) {
      const Tensor flat = g.reshape({n});
      grad_slot.copy_(scale == 1 ? flat : mul(flat, scale));
    } else {
      grad_slot.zero_();
    }
    // The model's parameters are the truth (a checkpoint or a broadcast may have replaced them).
    flat_param_.slice(0, offset, offset + n).copy_(p.reshape({n}));
    offset += n;
  }
  comm_->reduce_scatter(flat_grad_, shard_grad_, ReduceOp::kSum)->wait();
  if (clip_norm_ > 0) {
    const Device device = comm_->device();
    Tensor total = zeros({1}, {.dtype = DType::kF64, .device = device});
    const kernels::Context ctx = context_for(device);
    dispatch_floating(shard_grad_.dtype(), "ZeroOptimizer clip", [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(device, accumulate_squares<T>, ctx, shard_grad_.numel(),
                             shard_grad_.data<T>(), total.data<double>());
    });
    comm_->all_reduce(total, ReduceOp::kSum)->wait();
    dispatch_floating(shard_grad_.dtype(), "ZeroOptimizer clip", [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(device, clip_by_total_norm<T>, ctx, shard_grad_.numel(),
                             shard_grad_.data<T>(), total.data<double>(), clip_norm_);
    });
  }
  shard_param_.copy_(flat_param_.slice(0, first, first + shard_size_));
  shard_param_.set_grad(shard_grad_);
  shard_optimizer_->step();
  comm_->all_gather(shard_param_, flat_param_)->wait();
  offset = 0;
  for (Tensor& p : params_) {
    const int64_t n = p.numel();
    p.copy_(flat_param_.slice(0, offset, offset + n).view(p.shape()));
    offset += n;
  }
  ++steps_;
}

std::vector<std::string> ZeroOptimizer::state_bases() const {
  std::vector<std::string> bases;
  for (const auto& [name, t] : shard_optimizer_->state()) {
    STRAND_CHECK(name.size() > 2 && name.ends_with(".0"),
                 "ZeroOptimizer: the shard optimizer's state '{}' is not per parameter", name);
    bases.push_back(name.substr(0, name.size() - 2));
  }
  return bases;
}

std::vector<std::pair<std::string, Tensor>> ZeroOptimizer::state() const {
  if (full_state_.empty()) {
    const auto bases = state_bases();
    for (size_t i = 0; i < params_.size(); ++i) {
      for (const std::string& b : bases) {
        full_state_.emplace_back(b + "." + std::to_string(i), zeros_like(params_[i]));
      }
    }
  }
  return full_state_;
}

void ZeroOptimizer::gather_state() {
  NoGradGuard no_grad;
  state();
  const auto shard_state = shard_optimizer_->state();
  const size_t nb = shard_state.size();
  Tensor gathered =
      empty(flat_param_.shape(), {.dtype = flat_param_.dtype(), .device = flat_param_.device()});
  for (size_t b = 0; b < nb; ++b) {
    comm_->all_gather(shard_state[b].second, gathered)->wait();
    int64_t offset = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
      const int64_t n = params_[i].numel();
      Tensor target = full_state_[i * nb + b].second;
      target.copy_(gathered.slice(0, offset, offset + n).view(params_[i].shape()));
      offset += n;
    }
  }
}

void ZeroOptimizer::state_loaded() {
  NoGradGuard no_grad;
  const auto bases = state_bases();
  const size_t nb = bases.size();
  const int64_t first = comm_->rank() * shard_size_;
  std::vector<std::pair<std::string, Tensor>> shard_state;
  for (size_t b = 0; b < nb; ++b) {
    Tensor flat =
        zeros(flat_param_.shape(), {.dtype = flat_param_.dtype(), .device = flat_param_.device()});
    int64_t offset = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
      const Tensor& full = full_state_[i * nb + b].second;
      flat.slice(0, offset, offset + full.numel()).copy_(full.reshape({full.numel()}));
      offset += full.numel();
    }
    shard_state.emplace_back(bases[b] + ".0", flat.slice(0, first, first + shard_size_).clone());
  }
  shard_optimizer_->load_state(shard_state, steps_);
}

}  // namespace strand::runtime
