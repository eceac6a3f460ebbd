// SumOfBranches: runs every branch on the same input and adds their outputs (all of one shape
// [N, ...]). The default model uses it to put a position-keeping head beside a
// position-invariant one. Branch dropout: in training, a branch given drop > 0 is left out of
// the sum for that random fraction of the examples (whole examples, no rescaling), so the other
// branches must learn to predict without it; in eval every branch counts.
#pragma once

#include <memory>
#include <vector>

#include "layers/module.h"

namespace strand::layers {

class SumOfBranches : public Module {
 public:
  SumOfBranches() : Module("SumOfBranches") {}
  // Branches are children "0", "1", ... (state_dict keys "<this>.0.weight", ...).
  // drop in [0, 1): the fraction of training examples for which this branch is left out.
  SumOfBranches& add(std::shared_ptr<Module> branch, double drop = 0.0);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return branches_.size(); }
  Module& operator[](size_t i) { return *branches_.at(i); }
  double drop(size_t i) const { return drop_.at(i); }

 protected:
  std::string extra_repr() const override;

  std::vector<std::shared_ptr<Module>> branches_;
  std::vector<double> drop_;
};

}  // namespace strand::layers
