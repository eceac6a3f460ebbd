// 1D max and average pooling over the last dimension of [rows = N * C, length], as PyTorch's
// MaxPool1d / AvgPool1d: out_len = floor((len + 2 * padding - kernel) / stride) + 1; max pooling
// treats padding as -inf, average pooling counts padded positions (count_include_pad = true).
#pragma once

#include <cstdint>

#include "kernels/common/context.h"

namespace strand::kernels {

struct Pool1dShape {
  int64_t rows = 0, length = 0;
  int64_t kernel = 1, stride = 1, padding = 0;
  int64_t out_length() const { return (length + 2 * padding - kernel) / stride + 1; }
};

// Validates a pooling shape with messages that name the bad value.
void check_pool1d(const Pool1dShape& s);

#define STRAND_POOL_API(ns)                                                                    \
  namespace ns {                                                                               \
  /* y [rows, out_len]; index [rows, out_len] gets the argmax position within the row. */      \
  template <typename T>                                                                        \
  void max_pool1d(const Context& ctx, const Pool1dShape& s, const T* x, T* y, int64_t* index); \
  /* dx (zeroed here first) += dy routed through index. */                                     \
  template <typename T>                                                                        \
  void max_pool1d_backward(const Context& ctx, const Pool1dShape& s, const T* dy,              \
                           const int64_t* index, T* dx);                                       \
  template <typename T>                                                                        \
  void avg_pool1d(const Context& ctx, const Pool1dShape& s, const T* x, T* y);                 \
  template <typename T>                                                                        \
  void avg_pool1d_backward(const Context& ctx, const Pool1dShape& s, const T* dy, T* dx);      \
  }

STRAND_POOL_API(cpu)
STRAND_POOL_API(cuda)
#undef STRAND_POOL_API

// The explicit instantiations for element type T, the same in the CPU and the CUDA file.
#define STRAND_POOL_INSTANTIATE(T)                                                         \
  template void max_pool1d<T>(const Context&, const Pool1dShape&, const T*, T*, int64_t*); \
  template void max_pool1d_backward<T>(const Context&, const Pool1dShape&, const T*,       \
                                       const int64_t*, T*);                                \
  template void avg_pool1d<T>(const Context&, const Pool1dShape&, const T*, T*);           \
  template void avg_pool1d_backward<T>(const Context&, const Pool1dShape&, const T*, T*);

}  // namespace strand::kernels
