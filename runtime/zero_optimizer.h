// ZeRO stage 1: optimizer state sharded across data-parallel ranks. Each step reduce-scatters the
// gradients of all parameters (flattened), updates only this rank's shard of the flat parameter
// vector with an ordinary optimizer that holds state for that shard alone, and all-gathers the
// updated parameters. For element-wise optimizers (SGD, Adam, AdamW) the update equals the
// unsharded one on the averaged gradient.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/comm.h"
#include "runtime/optim.h"

namespace strand::runtime {

class ZeroOptimizer : public Optimizer {
 public:
  // Builds the optimizer of the shard (e.g. [](auto p) { return std::make_unique<Adam>(p, c); }).
  using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

  // params: contiguous floating leaves of one dtype on the communicator's device.
  ZeroOptimizer(std::shared_ptr<Communicator> comm, std::vector<Tensor> params,
                const Factory& make_shard_optimizer);

  // This rank's weight in the gradient average and the total over ranks (see GradReducer::
  // prepare); without a call each rank weighs 1. Applies to the next step() only.
  void prepare(double weight, double total_weight);
  // > 0: clip the averaged gradient to this global L2 norm before the update (as clip_grad_norm
  // does in one process; the norm is all-reduced across shards).
  void set_clip_norm(double max_norm) { clip_norm_ = max_norm; }

  // Collective: reads each parameter's local gradient (none counts as zero), reduce-scatters the
  // weighted sum, updates this rank's shard, all-gathers the parameters into the model.
  void step() override;
  double lr() const override { return shard_optimizer_->lr(); }
  void set_lr(double lr) override { shard_optimizer_->set_lr(lr); }

  // The full, unsharded state in the layout the shard optimizer's type has over all parameters
  // ("exp_avg.3", ...), so checkpoints load into any number of ranks and into one process. It is
  // what the last gather_state() collected (zeros before the first): call gather_state() on every
  // rank before saving. load_state() fills it and hands each rank its shard.
  std::vector<std::pair<std::string, Tensor>> state() const override;
  // Collective: all-gathers the shards of the optimizer state into state().
  void gather_state();

  int64_t shard_size() const { return shard_size_; }  // elements of the flat vector per rank
  const Optimizer& shard_optimizer() const { return *shard_optimizer_; }

 protected:
  void state_loaded() override;

 private:
  // Names of the shard optimizer's state without the ".0" of its single parameter.
  std::vector<std::string> state_bases() const;

  std::shared_ptr<Communicator> comm_;
  int64_t total_ = 0, shard_size_ = 0;
  Tensor flat_grad_, flat_param_;  // size() * shard_size_ elements (zero padded)
  Tensor shard_param_, shard_grad_;
  std::unique_ptr<Optimizer> shard_optimizer_;
  double scale_ = 1;
  bool scaled_ = false;  // prepare() was called for the next step
  double clip_norm_ = 0;
  mutable std::vector<std::pair<std::string, Tensor>> full_state_;
};

}  // namespace strand::runtime
