// CUDA twins of pool_cpu.cpp: one thread per output (forward) or per input position (backward),
// so the backward gathers instead of scattering and needs no atomics.
#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/type_lists.h"
#include "kernels/pool/pool.h"

namespace strand::kernels::cuda {
namespace {

template <typename T>
__global__ void max_pool_kernel(Pool1dShape s, int64_t out_len, const T* x, T* y, int64_t* index) {
  using A = acc_t<T>;
  for (int64_t p = global_index(); p < s.rows * out_len; p += global_stride()) {
    const int64_t r = p / out_len, t = p % out_len;
    A best = 0;
    int64_t arg = -1;
    for (int64_t k = 0; k < s.kernel; ++k) {
      const int64_t pos = t * s.stride - s.padding + k;
      if (pos < 0 || pos >= s.length) continue;
      const A v = to_acc(x[r * s.length + pos]);
      if (arg < 0 || v > best || v != v) {
        best = v, arg = pos;
        if (v != v) break;
      }
    }
    y[p] = to_storage<T>(best);
    index[p] = arg;
  }
}

// For each input position, the sum of dy over the windows whose argmax it is.
template <typename T>
__global__ void max_pool_backward_kernel(Pool1dShape s, int64_t out_len, const T* dy,
                                         const int64_t* index, T* dx) {
  using A = acc_t<T>;
  for (int64_t p = global_index(); p < s.rows * s.length; p += global_stride()) {
    const int64_t r = p / s.length, i = p % s.length;
    const int64_t hi = (i + s.padding) / s.stride;
    const int64_t lo_num = i + s.padding - s.kernel + 1;
    const int64_t lo = lo_num <= 0 ? 0 : (lo_num + s.stride - 1) / s.stride;
    A sum = 0;
    for (int64_t t = lo; t <= min(hi, out_len - 1); ++t) {
      if (index[r * out_len + t] == i) sum += to_acc(dy[r * out_len + t]);
    }
    dx[p] = to_storage<T>(sum);
  }
}

template <typename T>
__global__ void avg_pool_kernel(Pool1dShape s, int64_t out_len, const T* x, T* y) {
  using A = acc_t<T>;
  for (int64_t p = global_index(); p < s.rows * out_len; p += global_stride()) {
    const int64_t r = p / out_len, t = p % out_len;
    A sum = 0;
    for (int64_t k = 0; k < s.kernel; ++k) {
      const int64_t pos = t * s.stride - s.padding + k;
      if (pos >= 0 && pos < s.length) sum += to_acc(x[r * s.length + pos]);
    }
    y[p] = to_storage<T>(sum / A(s.kernel));
  }
}

template <typename T>
__global__ void avg_pool_backward_kernel(Pool1dShape s, int64_t out_len, const T* dy, T* dx) {
  using A = acc_t<T>;
  for (int64_t p = global_index(); p < s.rows * s.length; p += global_stride()) {
    const int64_t r = p / s.length, i = p % s.length;
    const int64_t hi = (i + s.padding) / s.stride;
    const int64_t lo_num = i + s.padding - s.kernel + 1;
    const int64_t lo = lo_num <= 0 ? 0 : (lo_num + s.stride - 1) / s.stride;
    A sum = 0;
    for (int64_t t = lo; t <= min(hi, out_len - 1); ++t) sum += to_acc(dy[r * out_len + t]);
    dx[p] = to_storage<T>(sum / A(s.kernel));
  }
}

}  // namespace

template <typename T>
void max_pool1d(const Context& ctx, const Pool1dShape& s, const T* x, T* y, int64_t* index) {
  check_pool1d(s);
  const int64_t n = s.rows * s.out_length();
  if (n == 0) return;
  max_pool_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(s, s.out_length(), as_device(x),
                                                          as_device(y), index);
  STRAND_CUDA_CHECK_LAUNCH("max_pool1d");
}

template <typename T>
void max_pool1d_backward(const Context& ctx, const Pool1dShape& s, const T* dy,
                         const int64_t* index, T* dx) {
  const int64_t n = s.rows * s.length;
  if (n == 0) return;
  max_pool_backward_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(s, s.out_length(), as_device(dy),
                                                                   index, as_device(dx));
  STRAND_CUDA_CHECK_LAUNCH("max_pool1d_backward");
}

template <typename T>
void avg_pool1d(const Context& ctx, const Pool1dShape& s, const T* x, T* y) {
  check_pool1d(s);
  const int64_t n = s.rows * s.out_length();
  if (n == 0) return;
  avg_pool_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(s, s.out_length(), as_device(x),
                                                          as_device(y));
  STRAND_CUDA_CHECK_LAUNCH("avg_pool1d");
}

template <typename T>
void avg_pool1d_backward(const Context& ctx, const Pool1dShape& s, const T* dy, T* dx) {
  const int64_t n = s.rows * s.length;
  if (n == 0) return;
  avg_pool_backward_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(s, s.out_length(), as_device(dy),
                                                                   as_device(dx));
  STRAND_CUDA_CHECK_LAUNCH("avg_pool1d_backward");
}

STRAND_FLOATING_TYPES(STRAND_POOL_INSTANTIATE)

}  // namespace strand::kernels::cuda
