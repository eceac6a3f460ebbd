// Softmax and log-softmax along one dimension of a contiguous [outer, dim, inner] tensor, and
// their backward passes from the saved output y:
//   softmax:      dx = y * (dy - sum(dy * y))
//   log_softmax:  dx = dy - exp(y) * sum(dy)
#pragma once

#include <cstdint>

#include "kernels/common/context.h"

namespace strand::kernels {

#define STRAND_SOFTMAX_API(ns)                                                                   \
  namespace ns {                                                                                 \
  template <typename T>                                                                          \
  void softmax(const Context& ctx, bool log, int64_t outer, int64_t dim, int64_t inner,          \
               const T* x, T* y);                                                                \
  template <typename T>                                                                          \
  void softmax_backward(const Context& ctx, bool log, int64_t outer, int64_t dim, int64_t inner, \
                        const T* y, const T* dy, T* dx);                                         \
  }

STRAND_SOFTMAX_API(cpu)
STRAND_SOFTMAX_API(cuda)
#undef STRAND_SOFTMAX_API

// The explicit instantiations for element type T, the same in the CPU and the CUDA file.
#define STRAND_SOFTMAX_INSTANTIATE(T)                                                          \
  template void softmax<T>(const Context&, bool, int64_t, int64_t, int64_t, const T*, T*);     \
  template void softmax_backward<T>(const Context&, bool, int64_t, int64_t, int64_t, const T*, \
                                    const T*, T*);

}  // namespace strand::kernels
