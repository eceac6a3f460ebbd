// CUDA elementwise kernels: grid-stride loops over the same formulas as elementwise_cpu.cpp.
#include <cuda_bf16.h>

#include "core/bfloat16.h"
#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/type_lists.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/elementwise/elementwise_ops.h"

namespace strand::kernels::cuda {
namespace {

template <typename T>
__global__ void unary_kernel(UnaryOp op, int64_t n, const T* x, T* y, acc_t<T> p0, acc_t<T> p1) {
  using A = acc_t<T>;
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    y[i] = to_storage<T>(apply_unary<A>(op, to_acc(x[i]), p0, p1));
  }
}

template <typename T>
__global__ void unary_backward_kernel(UnaryOp op, int64_t n, const T* dy, const T* x, const T* y,
                                      T* dx, acc_t<T> p0, acc_t<T> p1) {
  using A = acc_t<T>;
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    const A xi = x ? to_acc(x[i]) : A(0);
    const A yi = y ? to_acc(y[i]) : A(0);
    dx[i] = to_storage<T>(to_acc(dy[i]) * unary_derivative<A>(op, xi, yi, p0, p1));
  }
}

template <typename T>
__global__ void binary_contiguous_kernel(BinaryOp op, int64_t n, const T* a, const T* b, T* out) {
  using A = acc_t<T>;
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    out[i] = to_storage<T>(apply_binary<A>(op, to_acc(a[i]), to_acc(b[i])));
  }
}

template <typename T>
__global__ void binary_strided_kernel(BinaryOp op, StridedIter<3> it, const T* a, const T* b,
                                      T* out) {
  using A = acc_t<T>;
  for (int64_t i = global_index(); i < it.numel; i += global_stride()) {
    out[it.offset(0, i)] =
        to_storage<T>(apply_binary<A>(op, to_acc(a[it.offset(1, i)]), to_acc(b[it.offset(2, i)])));
  }
}

template <typename T>
__global__ void strided_copy_kernel(StridedIter<2> it, const T* in, T* out) {
  for (int64_t i = global_index(); i < it.numel; i += global_stride()) {
    out[it.offset(0, i)] = in[it.offset(1, i)];
  }
}

template <typename T>
__global__ void bce_kernel(int64_t n, int64_t tasks, const T* x, const T* y, const T* w, T* loss) {
  using A = acc_t<T>;
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    const A wi = w ? to_acc(w[i % tasks]) : A(1);
    loss[i] = to_storage<T>(bce_logits<A>(to_acc(x[i]), to_acc(y[i]), wi));
  }
}

template <typename T>
__global__ void bce_backward_kernel(int64_t n, int64_t tasks, const T* x, const T* y, const T* w,
                                    const T* dloss, T* dx) {
  using A = acc_t<T>;
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    const A wi = w ? to_acc(w[i % tasks]) : A(1);
    dx[i] = to_storage<T>(to_acc(dloss[i]) * bce_logits_grad<A>(to_acc(x[i]), to_acc(y[i]), wi));
  }
}

}  // namespace

template <typename T>
void unary(const Context& ctx, UnaryOp op, int64_t n, const T* x, T* y, double p0, double p1) {
  if (n == 0) return;
  using D = device_t<T>;
  unary_kernel<D><<<grid_for(n), kBlock, 0, ctx.stream>>>(op, n, as_device(x), as_device(y),
                                                          acc_t<D>(p0), acc_t<D>(p1));
  STRAND_CUDA_CHECK_LAUNCH("unary");
}

template <typename T>
void unary_backward(const Context& ctx, UnaryOp op, int64_t n, const T* dy, const T* x, const T* y,
                    T* dx, double p0, double p1) {
  if (n == 0) return;
  using D = device_t<T>;
  unary_backward_kernel<D><<<grid_for(n), kBlock, 0, ctx.stream>>>(
      op, n, as_device(dy), as_device(x), as_device(y), as_device(dx), acc_t<D>(p0), acc_t<D>(p1));
  STRAND_CUDA_CHECK_LAUNCH("unary_backward");
}

template <typename T>
void binary(const Context& ctx, BinaryOp op, const StridedIter<3>& it, const T* a, const T* b,
            T* out) {
  if (it.numel == 0) return;
  using D = device_t<T>;
  if (it.ndim == 1 && it.strides[0][0] == 1 && it.strides[1][0] == 1 && it.strides[2][0] == 1) {
    binary_contiguous_kernel<D><<<grid_for(it.numel), kBlock, 0, ctx.stream>>>(
        op, it.numel, as_device(a), as_device(b), as_device(out));
  } else {
    binary_strided_kernel<D><<<grid_for(it.numel), kBlock, 0, ctx.stream>>>(
        op, it, as_device(a), as_device(b), as_device(out));
  }
  STRAND_CUDA_CHECK_LAUNCH("binary");
}

template <typename T>
void strided_copy(const Context& ctx, const StridedIter<2>& it, const T* in, T* out) {
  if (it.numel == 0) return;
  strided_copy_kernel<T><<<grid_for(it.numel), kBlock, 0, ctx.stream>>>(it, in, out);
  STRAND_CUDA_CHECK_LAUNCH("strided_copy");
}

template <typename T>
void bce_with_logits(const Context& ctx, int64_t n, int64_t tasks, const T* x, const T* y,
                     const T* w, T* loss) {
  if (n == 0) return;
  using D = device_t<T>;
  bce_kernel<D><<<grid_for(n), kBlock, 0, ctx.stream>>>(n, tasks, as_device(x), as_device(y),
                                                        as_device(w), as_device(loss));
  STRAND_CUDA_CHECK_LAUNCH("bce_with_logits");
}

template <typename T>
void bce_with_logits_backward(const Context& ctx, int64_t n, int64_t tasks, const T* x, const T* y,
                              const T* w, const T* dloss, T* dx) {
  if (n == 0) return;
  using D = device_t<T>;
  bce_backward_kernel<D><<<grid_for(n), kBlock, 0, ctx.stream>>>(
      n, tasks, as_device(x), as_device(y), as_device(w), as_device(dloss), as_device(dx));
  STRAND_CUDA_CHECK_LAUNCH("bce_with_logits_backward");
}

STRAND_FLOATING_TYPES(STRAND_ELEMENTWISE_INSTANTIATE)

#define INSTANTIATE(T) \
  template void strided_copy<T>(const Context&, const StridedIter<2>&, const T*, T*);
STRAND_WORD_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cuda
