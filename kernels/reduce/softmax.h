// Softmax and log-softmax along one dimension of a contiguous [outer, dim, inner] tensor, and
// their backward passes from the saved output y:
//   softmax:      dx = y * (dy - sum(dy * y))
//   log_softmax:  dx = dy - exp(y) * sum(dy)
#pragma once

#include <cstdint>

#include "kernels/common/context.h"

namespace strand::kernels {

#define STRAND_SOFTMAX_API(ns)                                                           \
  namespace ns {                                                                         \
  template <typename T>                                                                  \
  void softmax(bool log, int64_t outer, int64_t dim, int64_t inner, const T* x, T* y,    \
               const Context& ctx);                                                      \
  template <typename T>                                                                  \
  void softmax_backward(bool log, int64_t outer, int64_t dim, int64_t inner, const T* y, \
                        const T* dy, T* dx, const Context& ctx);                         \
  }

STRAND_SOFTMAX_API(cpu)
STRAND_SOFTMAX_API(cuda)
#undef STRAND_SOFTMAX_API

}  // namespace strand::kernels
