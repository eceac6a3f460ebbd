// CUDA reductions and softmax over [outer, dim, inner]. inner == 1 (the last dimension, the common
// case) uses one block per row with a tree reduction; otherwise one thread per (outer, inner)
// output walks the reduced dimension, which keeps loads coalesced across inner.
#include <cfloat>

#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/cuda_reduce.h"
#include "kernels/reduce/reduce.h"
#include "kernels/reduce/softmax.h"

namespace strand::kernels::cuda {
namespace {

template <typename A>
struct ValueIndex {
  A value;
  int64_t index;
};

template <typename A>
__device__ ValueIndex<A> combine(ReduceOp op, ValueIndex<A> a, ValueIndex<A> b) {
  if (op == ReduceOp::kSum) return {a.value + b.value, 0};
  const bool a_nan = a.value != a.value, b_nan = b.value != b.value;
  if (a_nan || b_nan) {  // NaN propagates; the first NaN wins
    if (a_nan && b_nan) return a.index <= b.index ? a : b;
    return a_nan ? a : b;
  }
  const bool take_b = op == ReduceOp::kMax ? (b.value > a.value) : (b.value < a.value);
  if (take_b) return b;
  if (b.value == a.value && b.index < a.index) return b;  // first extreme element, as on CPU
  return a;
}

template <typename A>
__device__ ValueIndex<A> identity(ReduceOp op) {
  if (op == ReduceOp::kSum) return {A(0), 0};
  const A big = sizeof(A) == 8 ? A(DBL_MAX) : A(FLT_MAX);
  return {op == ReduceOp::kMax ? -big : big, INT64_MAX};
}

// The shuffle of a value with its index, for warp_reduce (kernels/common/cuda_reduce.h).
template <typename A>
__device__ ValueIndex<A> shfl_down(ValueIndex<A> v, int offset) {
  return {__shfl_down_sync(0xffffffffu, v.value, offset),
          __shfl_down_sync(0xffffffffu, v.index, offset)};
}

// Reduces v across the block; every thread gets the result.
template <typename A>
__device__ ValueIndex<A> block_reduce(ReduceOp op, ValueIndex<A> v) {
  return cuda::block_reduce(
      v, [op](ValueIndex<A> a, ValueIndex<A> b) { return combine(op, a, b); }, identity<A>(op));
}

template <typename T>
__global__ void reduce_rows_kernel(ReduceOp op, int64_t dim, const T* x, T* out, int64_t* index) {
  using A = acc_t<T>;
  const T* row = x + blockIdx.x * dim;
  ValueIndex<A> v = identity<A>(op);
  for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) v = combine(op, v, {to_acc(row[d]), d});
  v = block_reduce(op, v);
  if (threadIdx.x == 0) {
    out[blockIdx.x] = to_storage<T>(v.value);
    if (index) index[blockIdx.x] = v.index;
  }
}

template <typename T>
__global__ void reduce_columns_kernel(ReduceOp op, int64_t outer, int64_t dim, int64_t inner,
                                      const T* x, T* out, int64_t* index) {
  using A = acc_t<T>;
  for (int64_t p = global_index(); p < outer * inner; p += global_stride()) {
    const int64_t o = p / inner, i = p % inner;
    const T* col = x + o * dim * inner + i;
    ValueIndex<A> v = identity<A>(op);
    for (int64_t d = 0; d < dim; ++d) v = combine(op, v, {to_acc(col[d * inner]), d});
    out[p] = to_storage<T>(v.value);
    if (index) index[p] = v.index;
  }
}

template <typename T>
__global__ void softmax_rows_kernel(bool log, int64_t dim, const T* x, T* y) {
  using A = acc_t<T>;
  const T* row = x + blockIdx.x * dim;
  T* out = y + blockIdx.x * dim;
  ValueIndex<A> m = identity<A>(ReduceOp::kMax);
  for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
    m = combine(ReduceOp::kMax, m, {to_acc(row[d]), d});
  const A max = block_reduce(ReduceOp::kMax, m).value;
  ValueIndex<A> s{A(0), 0};
  for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) s.value += hd_exp(to_acc(row[d]) - max);
  const A sum = block_reduce(ReduceOp::kSum, s).value;
  const A log_sum = hd_log(sum);
  for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) {
    const A shifted = to_acc(row[d]) - max;
    out[d] = to_storage<T>(log ? shifted - log_sum : hd_exp(shifted) / sum);
  }
}

template <typename T>
__global__ void softmax_columns_kernel(bool log, int64_t outer, int64_t dim, int64_t inner,
                                       const T* x, T* y) {
  using A = acc_t<T>;
  for (int64_t p = global_index(); p < outer * inner; p += global_stride()) {
    const int64_t base = (p / inner) * dim * inner + p % inner;
    A max = to_acc(x[base]);
    for (int64_t d = 1; d < dim; ++d) max = fmax(max, to_acc(x[base + d * inner]));
    A sum = 0;
    for (int64_t d = 0; d < dim; ++d) sum += hd_exp(to_acc(x[base + d * inner]) - max);
    const A log_sum = hd_log(sum);
    for (int64_t d = 0; d < dim; ++d) {
      const A shifted = to_acc(x[base + d * inner]) - max;
      y[base + d * inner] = to_storage<T>(log ? shifted - log_sum : hd_exp(shifted) / sum);
    }
  }
}

template <typename T>
__global__ void softmax_backward_rows_kernel(bool log, int64_t dim, const T* y, const T* dy,
                                             T* dx) {
  using A = acc_t<T>;
  const int64_t base = blockIdx.x * dim;
  ValueIndex<A> s{A(0), 0};
  for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) {
    const A g = to_acc(dy[base + d]);
    s.value += log ? g : g * to_acc(y[base + d]);
  }
  const A dot = block_reduce(ReduceOp::kSum, s).value;
  for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) {
    const A yv = to_acc(y[base + d]), g = to_acc(dy[base + d]);
    dx[base + d] = to_storage<T>(log ? g - hd_exp(yv) * dot : yv * (g - dot));
  }
}

template <typename T>
__global__ void softmax_backward_columns_kernel(bool log, int64_t outer, int64_t dim, int64_t inner,
                                                const T* y, const T* dy, T* dx) {
  using A = acc_t<T>;
  for (int64_t p = global_index(); p < outer * inner; p += global_stride()) {
    const int64_t base = (p / inner) * dim * inner + p % inner;
    A dot = 0;
    for (int64_t d = 0; d < dim; ++d) {
      const A g = to_acc(dy[base + d * inner]);
      dot += log ? g : g * to_acc(y[base + d * inner]);
    }
    for (int64_t d = 0; d < dim; ++d) {
      const A yv = to_acc(y[base + d * inner]), g = to_acc(dy[base + d * inner]);
      dx[base + d * inner] = to_storage<T>(log ? g - hd_exp(yv) * dot : yv * (g - dot));
    }
  }
}

}  // namespace

template <typename T>
void reduce(ReduceOp op, int64_t outer, int64_t dim, int64_t inner, const T* x, T* out,
            int64_t* index, const Context& ctx) {
  if (outer * inner == 0) return;
  using D = device_t<T>;
  if (inner == 1) {
    reduce_rows_kernel<D>
        <<<outer, kBlock, 0, ctx.stream>>>(op, dim, as_device(x), as_device(out), index);
  } else {
    reduce_columns_kernel<D><<<grid_for(outer * inner), kBlock, 0, ctx.stream>>>(
        op, outer, dim, inner, as_device(x), as_device(out), index);
  }
  STRAND_CUDA_CHECK_LAUNCH("reduce");
}

template <typename T>
void softmax(bool log, int64_t outer, int64_t dim, int64_t inner, const T* x, T* y,
             const Context& ctx) {
  if (outer * inner * dim == 0) return;
  using D = device_t<T>;
  if (inner == 1) {
    softmax_rows_kernel<D><<<outer, kBlock, 0, ctx.stream>>>(log, dim, as_device(x), as_device(y));
  } else {
    softmax_columns_kernel<D><<<grid_for(outer * inner), kBlock, 0, ctx.stream>>>(
        log, outer, dim, inner, as_device(x), as_device(y));
  }
  STRAND_CUDA_CHECK_LAUNCH("softmax");
}

template <typename T>
void softmax_backward(bool log, int64_t outer, int64_t dim, int64_t inner, const T* y, const T* dy,
                      T* dx, const Context& ctx) {
  if (outer * inner * dim == 0) return;
  using D = device_t<T>;
  if (inner == 1) {
    softmax_backward_rows_kernel<D>
        <<<outer, kBlock, 0, ctx.stream>>>(log, dim, as_device(y), as_device(dy), as_device(dx));
  } else {
    softmax_backward_columns_kernel<D><<<grid_for(outer * inner), kBlock, 0, ctx.stream>>>(
        log, outer, dim, inner, as_device(y), as_device(dy), as_device(dx));
  }
  STRAND_CUDA_CHECK_LAUNCH("softmax_backward");
}

#define INSTANTIATE(T)                                                                       \
  template void reduce<T>(ReduceOp, int64_t, int64_t, int64_t, const T*, T*, int64_t*,       \
                          const Context&);                                                   \
  template void softmax<T>(bool, int64_t, int64_t, int64_t, const T*, T*, const Context&);   \
  template void softmax_backward<T>(bool, int64_t, int64_t, int64_t, const T*, const T*, T*, \
                                    const Context&);
INSTANTIATE(float)
INSTANTIATE(double)
INSTANTIATE(BFloat16)
#undef INSTANTIATE

}  // namespace strand::kernels::cuda
