// Kernels that move elements by index or change their type: dtype casts, fill, arange,
// index_select / index_add along a dimension, and gather / scatter_add along a dimension.
// Shapes are given as [outer, dim, inner] of a contiguous tensor.
#pragma once

#include <cstdint>

#include "kernels/context.h"
#include "core/dtype.h"

namespace strand::kernels {

#define STRAND_INDEX_API(ns)                                                                    \
  namespace ns {                                                                                \
  /* out[i] = (dst type) in[i] for n contiguous elements (bool: nonzero -> 1). */               \
  void cast(int64_t n, DType src_type, const void* in, DType dst_type, void* out,               \
            const Context& ctx);                                                                \
  void fill(int64_t n, DType type, void* out, double value, const Context& ctx);                \
  /* out[i] = start + i * step. */                                                              \
  void arange(int64_t n, DType type, void* out, double start, double step, const Context& ctx); \
  /* out[o, j, i] = src[o, index[j], i]; index values must lie in [0, dim). */                  \
  template <typename T>                                                                         \
  void index_select(int64_t outer, int64_t dim, int64_t inner, const T* src, int64_t count,     \
                    const int64_t* index, T* out, const Context& ctx);                          \
  /* dst[o, index[j], i] += src[o, j, i] (the backward of index_select). */                     \
  template <typename T>                                                                         \
  void index_add(int64_t outer, int64_t dim, int64_t inner, const T* src, int64_t count,        \
                 const int64_t* index, T* dst, const Context& ctx);                             \
  /* out[o, j, i] = src[o, index[o, j, i], i], index shaped [outer, count, inner]. */           \
  template <typename T>                                                                         \
  void gather(int64_t outer, int64_t dim, int64_t inner, const T* src, int64_t count,           \
              const int64_t* index, T* out, const Context& ctx);                                \
  /* dst[o, index[o, j, i], i] += src[o, j, i] (the backward of gather). */                     \
  template <typename T>                                                                         \
  void scatter_add(int64_t outer, int64_t dim, int64_t inner, const T* src, int64_t count,      \
                   const int64_t* index, T* dst, const Context& ctx);                           \
  }

STRAND_INDEX_API(cpu)
STRAND_INDEX_API(cuda)
#undef STRAND_INDEX_API

}  // namespace strand::kernels
