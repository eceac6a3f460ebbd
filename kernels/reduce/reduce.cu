// CUDA reductions over [outer, dim, inner]. inner == 1 (the last dimension, the common case) uses
// one block per row with a tree reduction; otherwise one thread per (outer, inner) output walks
// the reduced dimension, which keeps loads coalesced across inner.
#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/type_lists.h"
#include "kernels/reduce/reduce.h"
#include "kernels/reduce/reduce_cuda_detail.h"

namespace strand::kernels::cuda {
namespace {

using namespace reduce_detail;  // NOLINT: the value-with-index helpers shared with softmax.cu

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

}  // namespace

template <typename T>
void reduce(const Context& ctx, ReduceOp op, int64_t outer, int64_t dim, int64_t inner, const T* x,
            T* out, int64_t* index) {
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

STRAND_FLOATING_TYPES(STRAND_REDUCE_INSTANTIATE)

}  // namespace strand::kernels::cuda
