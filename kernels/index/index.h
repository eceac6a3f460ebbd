// Kernels that move elements by index or change their type: dtype casts, fill, arange,
// index_select / index_add along a dimension, and gather / scatter_add along a dimension.
// Shapes are given as [outer, dim, inner] of a contiguous tensor.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "core/dtype.h"
#include "kernels/common/context.h"

namespace strand::kernels {

#define STRAND_INDEX_API(ns)                                                                     \
  namespace ns {                                                                                 \
  /* out[i] = (dst type) in[i] for n contiguous elements (bool: nonzero -> 1). */                \
  void cast(const Context& ctx, int64_t n, DType src_type, const void* in, DType dst_type,       \
            void* out);                                                                          \
  void fill(const Context& ctx, int64_t n, DType type, void* out, double value);                 \
  /* out[i] = start + i * step. */                                                               \
  void arange(const Context& ctx, int64_t n, DType type, void* out, double start, double step);  \
  /* out[o, j, i] = src[o, index[j], i]; index values must lie in [0, dim). */                   \
  template <typename T>                                                                          \
  void index_select(const Context& ctx, int64_t outer, int64_t dim, int64_t inner, const T* src, \
                    int64_t count, const int64_t* index, T* out);                                \
  /* dst[o, index[j], i] += src[o, j, i] (the backward of index_select). */                      \
  template <typename T>                                                                          \
  void index_add(const Context& ctx, int64_t outer, int64_t dim, int64_t inner, const T* src,    \
                 int64_t count, const int64_t* index, T* dst);                                   \
  /* out[o, j, i] = src[o, index[o, j, i], i], index shaped [outer, count, inner]. */            \
  template <typename T>                                                                          \
  void gather(const Context& ctx, int64_t outer, int64_t dim, int64_t inner, const T* src,       \
              int64_t count, const int64_t* index, T* out);                                      \
  /* dst[o, index[o, j, i], i] += src[o, j, i] (the backward of gather). */                      \
  template <typename T>                                                                          \
  void scatter_add(const Context& ctx, int64_t outer, int64_t dim, int64_t inner, const T* src,  \
                   int64_t count, const int64_t* index, T* dst);                                 \
  }

STRAND_INDEX_API(cpu)
STRAND_INDEX_API(cuda)
#undef STRAND_INDEX_API

// The CUDA index kernels cannot throw, and waiting for each launch would hide a host
// synchronisation in every gather. So each checked launch records its first out-of-range position
// in a device flag (kNoBadIndex: none) and queues the flag's copy into host memory on its stream;
// the error is raised later by cuda::raise_index_errors, which callers run where they wait for
// the device anyway (a device-to-host copy, a stream synchronisation). This log is that
// bookkeeping; it is host code, so CPU tests cover it.
constexpr uint64_t kNoBadIndex = ~uint64_t{0};

class IndexErrorLog {
 public:
  struct Check {
    const char* op = "";
    int64_t dim = 0;
    int device = 0;
    const uint64_t* position = nullptr;  // the host copy of the flag, valid once done()
    std::function<bool()> done;          // the copy has landed (never waits)
    std::function<void()> release;       // gives the copy's memory back, once read
  };

  void add(Check check);
  // Reads and releases every completed check of the device; raises the oldest bad one as
  // strand::Error "<op>: index at position <p> is out of range [0, <dim>)". Checks still in
  // flight stay for a later call.
  void raise_completed(int device);
  size_t pending() const;

 private:
  // Releases completed checks that found nothing, so a program that launches many checks between
  // synchronisations holds few slots; completed bad ones stay to be raised.
  void release_completed_good();

  mutable std::mutex mutex_;
  std::vector<Check> checks_;
};

namespace cuda {
// Raises the first out-of-range index a completed CUDA index launch on this device found (see
// IndexErrorLog). Call after synchronising with the device.
void raise_index_errors(int device);
}  // namespace cuda

// The explicit instantiations for element type T, the same in the CPU and the CUDA file.
#define STRAND_INDEX_INSTANTIATE(T)                                                           \
  template void index_select<T>(const Context&, int64_t, int64_t, int64_t, const T*, int64_t, \
                                const int64_t*, T*);                                          \
  template void index_add<T>(const Context&, int64_t, int64_t, int64_t, const T*, int64_t,    \
                             const int64_t*, T*);                                             \
  template void gather<T>(const Context&, int64_t, int64_t, int64_t, const T*, int64_t,       \
                          const int64_t*, T*);                                                \
  template void scatter_add<T>(const Context&, int64_t, int64_t, int64_t, const T*, int64_t,  \
                               const int64_t*, T*);

}  // namespace strand::kernels
