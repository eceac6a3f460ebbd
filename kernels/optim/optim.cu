// CUDA twins of optim_cpu.cpp: one fused pass per parameter tensor.
#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/cuda_reduce.h"
#include "kernels/common/type_lists.h"
#include "kernels/optim/optim_ops.h"

namespace strand::kernels::cuda {
namespace {

template <typename T>
__global__ void sgd_kernel(int64_t n, SgdConfig c, bool first_step, T* param, const T* grad,
                           T* momentum) {
  using A = acc_t<T>;
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    A buf = momentum ? to_acc(momentum[i]) : A(0);
    param[i] =
        to_storage<T>(sgd_update<A>(to_acc(param[i]), to_acc(grad[i]), &buf, first_step, A(c.lr),
                                    A(c.momentum), A(c.dampening), A(c.weight_decay), c.nesterov));
    if (momentum) momentum[i] = to_storage<T>(buf);
  }
}

template <typename T>
__global__ void adam_kernel(int64_t n, AdamConfig c, acc_t<T> bias1, acc_t<T> bias2, T* param,
                            const T* grad, T* exp_avg, T* exp_avg_sq) {
  using A = acc_t<T>;
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    A m = to_acc(exp_avg[i]), v = to_acc(exp_avg_sq[i]);
    param[i] = to_storage<T>(adam_update<A>(to_acc(param[i]), to_acc(grad[i]), &m, &v, A(c.lr),
                                            A(c.beta1), A(c.beta2), A(c.eps), A(c.weight_decay),
                                            c.decoupled_weight_decay, bias1, bias2));
    exp_avg[i] = to_storage<T>(m);
    exp_avg_sq[i] = to_storage<T>(v);
  }
}

template <typename T>
__global__ void squares_kernel(int64_t n, const T* x, double* total) {
  double sum = 0;
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    const double v = static_cast<double>(to_acc(x[i]));
    sum += v * v;
  }
  sum = warp_sum(sum);
  if (threadIdx.x % kWarpSize == 0) atomicAdd(total, sum);
}

template <typename T>
__global__ void clip_kernel(int64_t n, T* x, const double* total, double max_norm) {
  const double factor = fmin(1.0, max_norm / (sqrt(*total) + 1e-6));
  if (factor >= 1.0) return;
  for (int64_t i = global_index(); i < n; i += global_stride())
    x[i] = to_storage<T>(static_cast<acc_t<T>>(static_cast<double>(to_acc(x[i])) * factor));
}

}  // namespace

template <typename T>
void sgd_step(const Context& ctx, int64_t n, const SgdConfig& c, bool first_step, T* param,
              const T* grad, T* momentum) {
  if (n == 0) return;
  sgd_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(n, c, first_step, as_device(param),
                                                     as_device(grad), as_device(momentum));
  STRAND_CUDA_CHECK_LAUNCH("sgd_step");
}

template <typename T>
void adam_step(const Context& ctx, int64_t n, const AdamConfig& c, int64_t step, T* param,
               const T* grad, T* exp_avg, T* exp_avg_sq) {
  if (n == 0) return;
  using D = device_t<T>;
  const acc_t<D> bias1 = acc_t<D>(1 - std::pow(c.beta1, static_cast<double>(step)));
  const acc_t<D> bias2 = acc_t<D>(1 - std::pow(c.beta2, static_cast<double>(step)));
  adam_kernel<D><<<grid_for(n), kBlock, 0, ctx.stream>>>(n, c, bias1, bias2, as_device(param),
                                                         as_device(grad), as_device(exp_avg),
                                                         as_device(exp_avg_sq));
  STRAND_CUDA_CHECK_LAUNCH("adam_step");
}

template <typename T>
void accumulate_squares(const Context& ctx, int64_t n, const T* x, double* total) {
  if (n == 0) return;
  squares_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(n, as_device(x), total);
  STRAND_CUDA_CHECK_LAUNCH("accumulate_squares");
}

template <typename T>
void clip_by_total_norm(const Context& ctx, int64_t n, T* x, const double* total, double max_norm) {
  if (n == 0) return;
  clip_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(n, as_device(x), total, max_norm);
  STRAND_CUDA_CHECK_LAUNCH("clip_by_total_norm");
}

STRAND_FLOATING_TYPES(STRAND_OPTIM_INSTANTIATE)

}  // namespace strand::kernels::cuda
