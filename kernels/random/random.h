// Random fills from Philox 4x32-10 (kernels/random/philox.h): element i of a draw depends only on
// (seed, offset, i), so the CPU and CUDA twins produce identical numbers.
#pragma once

#include <cstdint>

#include "kernels/common/context.h"
#include "kernels/random/philox.h"

namespace strand::kernels {

#define STRAND_RANDOM_API(ns)                                                                  \
  namespace ns {                                                                               \
  /* out[i] = lo + (hi - lo) * U[0,1) */                                                       \
  template <typename T>                                                                        \
  void uniform(const Context& ctx, int64_t n, PhiloxState s, double lo, double hi, T* out);    \
  /* out[i] = mean + std * N(0,1) */                                                           \
  template <typename T>                                                                        \
  void normal(const Context& ctx, int64_t n, PhiloxState s, double mean, double std, T* out);  \
  /* out[i] = (U[0,1) < keep) ? scale : 0, the inverted-dropout mask. */                       \
  template <typename T>                                                                        \
  void bernoulli_mask(const Context& ctx, int64_t n, PhiloxState s, double keep, double scale, \
                      T* out);                                                                 \
  }

STRAND_RANDOM_API(cpu)
STRAND_RANDOM_API(cuda)
#undef STRAND_RANDOM_API

// The explicit instantiations for element type T, the same in the CPU and the CUDA file.
#define STRAND_RANDOM_INSTANTIATE(T)                                                  \
  template void uniform<T>(const Context&, int64_t, PhiloxState, double, double, T*); \
  template void normal<T>(const Context&, int64_t, PhiloxState, double, double, T*);  \
  template void bernoulli_mask<T>(const Context&, int64_t, PhiloxState, double, double, T*);

}  // namespace strand::kernels
