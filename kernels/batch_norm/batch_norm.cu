// CUDA twin of batch_norm_cpu.cpp: one block per channel for the statistics and the backward
// sums (tree reduction in the accumulation type), a grid-stride pass for the elementwise parts.
#include "kernels/batch_norm/batch_norm.h"
#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/cuda_reduce.h"
#include "kernels/common/type_lists.h"

namespace strand::kernels::cuda {
namespace {

// Element i of channel c (i over N * L).
__device__ __forceinline__ int64_t at(const BatchNormShape& s, int64_t c, int64_t i) {
  return (i / s.length) * s.channels * s.length + c * s.length + i % s.length;
}

template <typename T>
__global__ void stats_kernel(BatchNormShape s, const T* x, double eps, T* mean, T* invstd) {
  using A = acc_t<T>;
  const int64_t c = blockIdx.x, m = s.batch * s.length;
  A sum = 0;
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x) sum += to_acc(x[at(s, c, i)]);
  const A mu = block_sum(sum) / A(m);
  A sq = 0;
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
    const A d = to_acc(x[at(s, c, i)]) - mu;
    sq += d * d;
  }
  const A var = block_sum(sq) / A(m);
  if (threadIdx.x == 0) {
    mean[c] = to_storage<T>(mu);
    invstd[c] = to_storage<T>(A(1) / hd_sqrt(var + A(eps)));
  }
}

// y = x * scale + shift per channel; with_var: stats holds the variance (eval), else invstd.
template <typename T>
__global__ void normalize_kernel(BatchNormShape s, const T* x, const T* gamma, const T* beta,
                                 const T* mean, const T* stats, bool with_var, double eps, T* y) {
  using A = acc_t<T>;
  const int64_t n = s.batch * s.channels * s.length;
  for (int64_t p = global_index(); p < n; p += global_stride()) {
    const int64_t c = (p / s.length) % s.channels;
    const A inv = with_var ? A(1) / hd_sqrt(to_acc(stats[c]) + A(eps)) : to_acc(stats[c]);
    const A scale = inv * (gamma ? to_acc(gamma[c]) : A(1));
    y[p] =
        to_storage<T>((to_acc(x[p]) - to_acc(mean[c])) * scale + (beta ? to_acc(beta[c]) : A(0)));
  }
}

template <typename T>
__global__ void backward_sums_kernel(BatchNormShape s, const T* x, const T* dy, const T* mean,
                                     const T* invstd, T* dgamma, T* dbeta, acc_t<T>* sums) {
  using A = acc_t<T>;
  const int64_t c = blockIdx.x, m = s.batch * s.length;
  const A mu = to_acc(mean[c]), inv = to_acc(invstd[c]);
  A sum_dy = 0, sum_dy_xhat = 0;
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
    const int64_t p = at(s, c, i);
    const A g = to_acc(dy[p]);
    sum_dy += g;
    sum_dy_xhat += g * (to_acc(x[p]) - mu) * inv;
  }
  sum_dy = block_sum(sum_dy);
  sum_dy_xhat = block_sum(sum_dy_xhat);
  if (threadIdx.x == 0) {
    sums[2 * c] = sum_dy;
    sums[2 * c + 1] = sum_dy_xhat;
    if (dbeta) dbeta[c] = to_storage<T>(sum_dy);
    if (dgamma) dgamma[c] = to_storage<T>(sum_dy_xhat);
  }
}

template <typename T>
__global__ void backward_dx_kernel(BatchNormShape s, const T* x, const T* dy, const T* gamma,
                                   const T* mean, const T* invstd, const acc_t<T>* sums, T* dx) {
  using A = acc_t<T>;
  const int64_t n = s.batch * s.channels * s.length;
  const A m = A(s.batch * s.length);
  for (int64_t p = global_index(); p < n; p += global_stride()) {
    const int64_t c = (p / s.length) % s.channels;
    const A inv = to_acc(invstd[c]);
    const A xhat = (to_acc(x[p]) - to_acc(mean[c])) * inv;
    const A k = (gamma ? to_acc(gamma[c]) : A(1)) * inv / m;
    dx[p] = to_storage<T>(k * (m * to_acc(dy[p]) - sums[2 * c] - xhat * sums[2 * c + 1]));
  }
}

}  // namespace

template <typename T>
void batch_norm_forward(const Context& ctx, const BatchNormShape& s, const T* x, const T* gamma,
                        const T* beta, double eps, T* y, T* mean, T* invstd) {
  const int64_t n = s.batch * s.channels * s.length;
  if (n == 0) return;
  stats_kernel<<<s.channels, kBlock, 0, ctx.stream>>>(s, as_device(x), eps, as_device(mean),
                                                      as_device(invstd));
  STRAND_CUDA_CHECK_LAUNCH("batch_norm stats");
  normalize_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(
      s, as_device(x), as_device(gamma), as_device(beta), as_device(mean), as_device(invstd), false,
      eps, as_device(y));
  STRAND_CUDA_CHECK_LAUNCH("batch_norm normalize");
}

template <typename T>
void batch_norm_inference(const Context& ctx, const BatchNormShape& s, const T* x, const T* gamma,
                          const T* beta, const T* mean, const T* var, double eps, T* y) {
  const int64_t n = s.batch * s.channels * s.length;
  if (n == 0) return;
  normalize_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(s, as_device(x), as_device(gamma),
                                                           as_device(beta), as_device(mean),
                                                           as_device(var), true, eps, as_device(y));
  STRAND_CUDA_CHECK_LAUNCH("batch_norm inference");
}

template <typename T>
void batch_norm_backward(const Context& ctx, const BatchNormShape& s, const T* x, const T* dy,
                         const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                         T* dbeta) {
  const int64_t n = s.batch * s.channels * s.length;
  if (n == 0) return;
  using A = acc_t<device_t<T>>;
  A* sums = nullptr;
  STRAND_CUDA_CHECK(
      cudaMallocAsync(reinterpret_cast<void**>(&sums), 2 * s.channels * sizeof(A), ctx.stream));
  backward_sums_kernel<<<s.channels, kBlock, 0, ctx.stream>>>(
      s, as_device(x), as_device(dy), as_device(mean), as_device(invstd), as_device(dgamma),
      as_device(dbeta), sums);
  STRAND_CUDA_CHECK_LAUNCH("batch_norm backward sums");
  if (dx) {
    backward_dx_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(
        s, as_device(x), as_device(dy), as_device(gamma), as_device(mean), as_device(invstd), sums,
        as_device(dx));
    STRAND_CUDA_CHECK_LAUNCH("batch_norm backward dx");
  }
  STRAND_CUDA_CHECK(cudaFreeAsync(sums, ctx.stream));
}

STRAND_FLOATING_TYPES(STRAND_BATCH_NORM_INSTANTIATE)

}  // namespace strand::kernels::cuda
