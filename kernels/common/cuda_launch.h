// Launch helpers shared by strand's .cu files: grid sizing for grid-stride loops, and the mapping
// between the host-side element types (strand::BFloat16) and CUDA's (__nv_bfloat16).
#pragma once

#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>

#include "core/bfloat16.h"
#include "kernels/elementwise/elementwise_ops.h"

namespace strand::kernels {
// acc_t for CUDA's bf16 type: computed in float like strand::BFloat16.
template <>
struct AccOf<__nv_bfloat16> {
  using type = float;
};
}  // namespace strand::kernels

namespace strand::kernels::cuda {

constexpr int kBlock = 256;

// Enough blocks to fill a large GPU several times over; grid-stride loops cover the rest.
inline int grid_for(int64_t n) {
  return static_cast<int>(std::min<int64_t>((n + kBlock - 1) / kBlock, 65536));
}

__device__ __forceinline__ int64_t global_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t global_stride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

template <typename T>
struct DeviceType {
  using type = T;
};
template <>
struct DeviceType<BFloat16> {
  using type = __nv_bfloat16;
};
template <typename T>
using device_t = typename DeviceType<T>::type;

template <typename T>
device_t<T>* as_device(T* p) {
  return reinterpret_cast<device_t<T>*>(p);
}
template <typename T>
const device_t<T>* as_device(const T* p) {
  return reinterpret_cast<const device_t<T>*>(p);
}

__device__ __forceinline__ float to_acc(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_acc(float v) { return v; }
__device__ __forceinline__ double to_acc(double v) { return v; }

template <typename T>
__device__ __forceinline__ T to_storage(acc_t<T> v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 to_storage<__nv_bfloat16>(float v) {
  return __float2bfloat16(v);
}

}  // namespace strand::kernels::cuda
