// The value-with-index combine and block reduction shared by reduce.cu and softmax.cu: sum, max
// and min over (value, index) pairs, NaN first and the first extreme element winning, as on the
// CPU. Include only from .cu files.
#pragma once

#include <cfloat>
#include <cstdint>

#include "kernels/common/cuda_reduce.h"
#include "kernels/reduce/reduce.h"

namespace strand::kernels::cuda::reduce_detail {

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

}  // namespace strand::kernels::cuda::reduce_detail
