// Builds the kernels' StridedIter from tensor shapes and strides, merging dimensions that are
// contiguous in every operand so most elementwise work runs as one flat loop.
#pragma once

#include <array>

#include "core/error.h"
#include "kernels/elementwise/strided.h"
#include "runtime/tensor.h"

namespace strand::runtime {

template <int kOperands>
kernels::StridedIter<kOperands> make_iter(const Shape& shape,
                                          const std::array<Shape, kOperands>& strides) {
  kernels::StridedIter<kOperands> it;
  it.numel = shape_numel(shape);
  // Drop size-1 dimensions, then merge neighbours d, d+1 that are contiguous in every operand.
  std::vector<int64_t> sizes;
  std::array<std::vector<int64_t>, kOperands> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!sizes.empty()) {
      bool mergeable = true;
      for (int k = 0; k < kOperands; ++k) {
        mergeable = mergeable && st[k].back() == strides[k][d] * shape[d];
      }
      if (mergeable) {
        sizes.back() *= shape[d];
        for (int k = 0; k < kOperands; ++k) st[k].back() = strides[k][d];
        continue;
      }
    }
    sizes.push_back(shape[d]);
    for (int k = 0; k < kOperands; ++k) st[k].push_back(strides[k][d]);
  }
  if (sizes.empty()) {  // a scalar or all-ones shape: one element
    sizes.push_back(1);
    for (int k = 0; k < kOperands; ++k) st[k].push_back(1);
  }
  STRAND_CHECK(sizes.size() <= kernels::kMaxDims, "too many dimensions ({}) for a kernel",
               sizes.size());
  it.ndim = static_cast<int>(sizes.size());
  for (int d = 0; d < it.ndim; ++d) {
    it.sizes[d] = sizes[d];
    for (int k = 0; k < kOperands; ++k) it.strides[k][d] = st[k][d];
  }
  return it;
}

}  // namespace strand::runtime
