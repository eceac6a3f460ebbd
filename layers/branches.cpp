// SumOfBranches (see branches.h).
#include "layers/branches.h"

#include "kernels/error.h"
#include "runtime/ops.h"

namespace strand::layers {

SumOfBranches& SumOfBranches::add(std::shared_ptr<Module> branch) {
  STRAND_CHECK(branch != nullptr, "SumOfBranches: branch {} is null", branches_.size());
  register_module(std::to_string(branches_.size()), branch);
  branches_.push_back(std::move(branch));
  return *this;
}

Tensor SumOfBranches::forward(const Tensor& x) {
  STRAND_CHECK(!branches_.empty(), "SumOfBranches: no branches");
  Tensor out;
  for (size_t i = 0; i < branches_.size(); ++i) {
    Tensor y;
    try {
      y = branches_[i]->forward(x);
    } catch (const Error& e) {
      throw Error(format("branch {} ({}): {}", i, branches_[i]->type_name(), e.message()),
                  e.where());
    }
    if (i == 0) {
      out = y;
      continue;
    }
    STRAND_CHECK(y.shape() == out.shape(), "SumOfBranches: branch {} gives shape {}, branch 0 {}",
                 i, y.shape(), out.shape());
    out = runtime::add(out, y);
  }
  return out;
}

}  // namespace strand::layers
