// An iteration space of up to kMaxDims dimensions over several operands with their own element
// strides (0 for a broadcast dimension), shared by CPU and CUDA elementwise kernels.
#pragma once

#include <cstdint>

#include "kernels/common/hd.h"

namespace strand::kernels {

constexpr int kMaxDims = 8;

template <int kOperands>
struct StridedIter {
  int ndim = 0;
  int64_t numel = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kOperands][kMaxDims] = {};

  // Element offset of operand k at flat (row-major) index i of the iteration space.
  STRAND_HD int64_t offset(int k, int64_t i) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t idx = i % sizes[d];
      i /= sizes[d];
      off += idx * strides[k][d];
    }
    return off;
  }
};

}  // namespace strand::kernels
