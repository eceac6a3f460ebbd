// SumOfBranches (see branches.h).
#include "layers/branches.h"

#include "core/error.h"
#include "runtime/ops.h"

namespace strand::layers {

SumOfBranches& SumOfBranches::add(std::shared_ptr<Module> branch, double drop) {
  STRAND_CHECK(branch != nullptr, "SumOfBranches: branch {} is null", branches_.size());
  STRAND_CHECK(drop >= 0.0 && drop < 1.0, "SumOfBranches: branch {} drop must be in [0, 1), got {}",
               branches_.size(), drop);
  register_module(std::to_string(branches_.size()), branch);
  branches_.push_back(std::move(branch));
  drop_.push_back(drop);
  return *this;
}

std::string SumOfBranches::extra_repr() const { return format("drop={}", drop_); }

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
    if (is_training() && drop_[i] > 0) {
      // A 0/1 mask per example: dropout of ones scales kept entries by 1 / (1 - p); undo that.
      runtime::Shape mask_shape(y.dim(), 1);
      mask_shape[0] = y.shape()[0];
      const Tensor ones = runtime::ones(mask_shape, {.dtype = y.dtype(), .device = y.device()});
      const Tensor keep = runtime::mul(
          runtime::dropout(ones, drop_[i], true, runtime::default_generator()), 1.0 - drop_[i]);
      y = runtime::mul(y, keep);
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
