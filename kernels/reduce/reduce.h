// Reductions along one dimension of a contiguous tensor viewed as [outer, dim, inner]:
// sum, max and min (with the index of the first extreme element). Accumulation is in double on
// CPU and in acc_t (float for f32/bf16) with tree reduction on CUDA.
#pragma once

#include <cstdint>

#include "kernels/common/context.h"

namespace strand::kernels {

enum class ReduceOp : int { kSum, kMax, kMin };

#define STRAND_REDUCE_API(ns)                                                             \
  namespace ns {                                                                          \
  /* out[o, i] = op over d of x[o, d, i]; index (may be null) gets the arg of max/min. */ \
  template <typename T>                                                                   \
  void reduce(const Context& ctx, ReduceOp op, int64_t outer, int64_t dim, int64_t inner, \
              const T* x, T* out, int64_t* index);                                        \
  }

STRAND_REDUCE_API(cpu)
STRAND_REDUCE_API(cuda)
#undef STRAND_REDUCE_API

// The explicit instantiations for element type T, the same in the CPU and the CUDA file.
#define STRAND_REDUCE_INSTANTIATE(T)                                                         \
  template void reduce<T>(const Context&, ReduceOp, int64_t, int64_t, int64_t, const T*, T*, \
                          int64_t*);

}  // namespace strand::kernels
