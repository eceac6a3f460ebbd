// Warp and block reductions shared by strand's CUDA kernels: a shuffle-down tree in a fixed
// order, so a result depends only on the block's shape, never on timing. Blocks are whole warps.
#pragma once

namespace strand::kernels::cuda {

constexpr int kWarpSize = 32;

// Lane (lane + offset)'s v. Types other than plain numbers (e.g. a value with its index) overload
// this beside their definition; warp_reduce finds the overload by argument-dependent lookup.
template <typename V>
__device__ __forceinline__ V shfl_down(V v, int offset) {
  return __shfl_down_sync(0xffffffffu, v, offset);
}

// Lane 0 gets combine over the warp's 32 values (the other lanes hold partial results).
template <typename V, typename Combine>
__device__ __forceinline__ V warp_reduce(V v, Combine combine) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) v = combine(v, shfl_down(v, offset));
  return v;
}

template <typename V>
__device__ __forceinline__ V warp_sum(V v) {
  return warp_reduce(v, [](V a, V b) { return a + b; });
}

// Every thread gets combine over all the block's values; identity fills the slots of the warps a
// block does not have. Every thread of the block must call it (it synchronises the block).
template <typename V, typename Combine>
__device__ V block_reduce(V v, Combine combine, V identity) {
  __shared__ V partial[kWarpSize];
  const int tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int lane = tid % kWarpSize, warp = tid / kWarpSize;
  const int warps = (blockDim.x * blockDim.y * blockDim.z + kWarpSize - 1) / kWarpSize;
  v = warp_reduce(v, combine);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_reduce(lane < warps ? partial[lane] : identity, combine);
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  const V total = partial[0];
  __syncthreads();  // partial is reused by the block's next call
  return total;
}

template <typename V>
__device__ V block_sum(V v) {
  return block_reduce(
      v, [](V a, V b) { return a + b; }, V(0));
}

}  // namespace strand::kernels::cuda
