// CUDA twins of random_cpu.cpp: the same Philox formula per element.
#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/type_lists.h"
#include "kernels/random/random.h"

namespace strand::kernels::cuda {
namespace {

template <typename T>
__global__ void uniform_kernel(int64_t n, PhiloxState s, float lo, float span, T* out) {
  for (int64_t i = global_index(); i < n; i += global_stride())
    out[i] = to_storage<T>(lo + span * philox_uniform(s, i));
}

template <typename T>
__global__ void normal_kernel(int64_t n, PhiloxState s, float mean, float std, T* out) {
  for (int64_t i = global_index(); i < n; i += global_stride())
    out[i] = to_storage<T>(mean + std * philox_normal(s, i));
}

template <typename T>
__global__ void bernoulli_kernel(int64_t n, PhiloxState s, float keep, acc_t<T> scale, T* out) {
  for (int64_t i = global_index(); i < n; i += global_stride())
    out[i] = to_storage<T>(philox_uniform(s, i) < keep ? scale : acc_t<T>(0));
}

}  // namespace

// Values are computed in float on both devices so f64 draws match the CPU exactly too.
template <typename T>
void uniform(const Context& ctx, int64_t n, PhiloxState s, double lo, double hi, T* out) {
  if (n == 0) return;
  uniform_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(
      n, s, static_cast<float>(lo), static_cast<float>(hi - lo), as_device(out));
  STRAND_CUDA_CHECK_LAUNCH("uniform");
}

template <typename T>
void normal(const Context& ctx, int64_t n, PhiloxState s, double mean, double std, T* out) {
  if (n == 0) return;
  normal_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(n, s, static_cast<float>(mean),
                                                        static_cast<float>(std), as_device(out));
  STRAND_CUDA_CHECK_LAUNCH("normal");
}

template <typename T>
void bernoulli_mask(const Context& ctx, int64_t n, PhiloxState s, double keep, double scale,
                    T* out) {
  if (n == 0) return;
  using D = device_t<T>;
  bernoulli_kernel<D><<<grid_for(n), kBlock, 0, ctx.stream>>>(n, s, static_cast<float>(keep),
                                                              acc_t<D>(scale), as_device(out));
  STRAND_CUDA_CHECK_LAUNCH("bernoulli_mask");
}

STRAND_FLOATING_TYPES(STRAND_RANDOM_INSTANTIATE)

}  // namespace strand::kernels::cuda
