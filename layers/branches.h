// SumOfBranches: runs every branch on the same input and adds their outputs (all of one shape).
// The default model uses it to put a position-keeping head beside a position-invariant one.
#pragma once

#include <memory>
#include <vector>

#include "layers/module.h"

namespace strand::layers {

class SumOfBranches : public Module {
 public:
  SumOfBranches() : Module("SumOfBranches") {}
  // Branches are children "0", "1", ... (state_dict keys "<this>.0.weight", ...).
  SumOfBranches& add(std::shared_ptr<Module> branch);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return branches_.size(); }
  Module& operator[](size_t i) { return *branches_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> branches_;
};

}  // namespace strand::layers
