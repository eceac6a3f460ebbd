// Batch normalisation over x [N, C, L] (L = 1 for [N, C]) per channel c, fused: statistics,
// normalisation and the affine transform in one pass each way. In training the statistics are the
// batch's (biased variance); the backward pass is
//   dx = gamma * invstd / M * (M * dy - sum(dy) - xhat * sum(dy * xhat)),  M = N * L.
#pragma once

#include <cstdint>

#include "kernels/common/context.h"

namespace strand::kernels {

struct BatchNormShape {
  int64_t batch = 0, channels = 0, length = 1;
};

#define STRAND_BATCH_NORM_API(ns)                                                                  \
  namespace ns {                                                                                   \
  /* y = (x - mean) * invstd * gamma + beta with the batch's statistics, written to mean and */    \
  /* invstd [C] for the backward pass and the running averages. gamma/beta may be null. */         \
  template <typename T>                                                                            \
  void batch_norm_forward(const Context& ctx, const BatchNormShape& s, const T* x, const T* gamma, \
                          const T* beta, double eps, T* y, T* mean, T* invstd);                    \
  /* The same with given statistics (eval mode: the running mean and variance). */                 \
  template <typename T>                                                                            \
  void batch_norm_inference(const Context& ctx, const BatchNormShape& s, const T* x,               \
                            const T* gamma, const T* beta, const T* mean, const T* var,            \
                            double eps, T* y);                                                     \
  /* dx (may be null), dgamma and dbeta [C] (may be null; overwritten). */                         \
  template <typename T>                                                                            \
  void batch_norm_backward(const Context& ctx, const BatchNormShape& s, const T* x, const T* dy,   \
                           const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,       \
                           T* dbeta);                                                              \
  }

STRAND_BATCH_NORM_API(cpu)
STRAND_BATCH_NORM_API(cuda)
#undef STRAND_BATCH_NORM_API

// The explicit instantiations for element type T, the same in the CPU and the CUDA file.
#define STRAND_BATCH_NORM_INSTANTIATE(T)                                                           \
  template void batch_norm_forward<T>(const Context&, const BatchNormShape&, const T*, const T*,   \
                                      const T*, double, T*, T*, T*);                               \
  template void batch_norm_inference<T>(const Context&, const BatchNormShape&, const T*, const T*, \
                                        const T*, const T*, const T*, double, T*);                 \
  template void batch_norm_backward<T>(const Context&, const BatchNormShape&, const T*, const T*,  \
                                       const T*, const T*, const T*, T*, T*, T*);

}  // namespace strand::kernels
