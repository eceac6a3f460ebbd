// CUDA softmax and log-softmax over [outer, dim, inner] and their backward passes. inner == 1 (the
// last dimension, the common case) uses one block per row with tree reductions for the max and
// the sum; otherwise one thread per (outer, inner) column walks the softmax dimension.
#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/type_lists.h"
#include "kernels/reduce/reduce_cuda_detail.h"
#include "kernels/reduce/softmax.h"

namespace strand::kernels::cuda {
namespace {

using namespace reduce_detail;  // NOLINT: the value-with-index helpers shared with reduce.cu

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
void softmax(const Context& ctx, bool log, int64_t outer, int64_t dim, int64_t inner, const T* x,
             T* y) {
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
void softmax_backward(const Context& ctx, bool log, int64_t outer, int64_t dim, int64_t inner,
                      const T* y, const T* dy, T* dx) {
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

STRAND_FLOATING_TYPES(STRAND_SOFTMAX_INSTANTIATE)

}  // namespace strand::kernels::cuda
