// Fused optimizer updates (one pass over parameter, gradient and state per step) and the pieces
// of global-norm gradient clipping, with the same arithmetic on CPU and CUDA.
#pragma once

#include <cstdint>

#include "kernels/common/context.h"

namespace strand::kernels {

struct SgdConfig {
  double lr = 0.01, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};

// Adam (Kingma & Ba) with L2 weight decay folded into the gradient, or AdamW (Loshchilov &
// Hutter) with decoupled decay when decoupled_weight_decay is set.
struct AdamConfig {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled_weight_decay = false;
};

#define STRAND_OPTIM_API(ns)                                                                    \
  namespace ns {                                                                                \
  /* momentum may be null when cfg.momentum == 0; first_step initialises the buffer with g. */  \
  template <typename T>                                                                         \
  void sgd_step(const Context& ctx, int64_t n, const SgdConfig& cfg, bool first_step, T* param, \
                const T* grad, T* momentum);                                                    \
  /* step counts from 1 (bias correction). */                                                   \
  template <typename T>                                                                         \
  void adam_step(const Context& ctx, int64_t n, const AdamConfig& cfg, int64_t step, T* param,  \
                 const T* grad, T* exp_avg, T* exp_avg_sq);                                     \
  /* *total += sum of x[i]^2 (total is host memory on CPU, device memory on CUDA). */           \
  template <typename T>                                                                         \
  void accumulate_squares(const Context& ctx, int64_t n, const T* x, double* total);            \
  /* x *= min(1, max_norm / (sqrt(*total) + 1e-6)), reading *total where it lives, so CUDA */   \
  /* clipping never waits for the host. */                                                      \
  template <typename T>                                                                         \
  void clip_by_total_norm(const Context& ctx, int64_t n, T* x, const double* total,             \
                          double max_norm);                                                     \
  }

STRAND_OPTIM_API(cpu)
STRAND_OPTIM_API(cuda)
#undef STRAND_OPTIM_API

// The explicit instantiations for element type T, the same in the CPU and the CUDA file.
#define STRAND_OPTIM_INSTANTIATE(T)                                                             \
  template void sgd_step<T>(const Context&, int64_t, const SgdConfig&, bool, T*, const T*, T*); \
  template void adam_step<T>(const Context&, int64_t, const AdamConfig&, int64_t, T*, const T*, \
                             T*, T*);                                                           \
  template void accumulate_squares<T>(const Context&, int64_t, const T*, double*);              \
  template void clip_by_total_norm<T>(const Context&, int64_t, T*, const double*, double);

}  // namespace strand::kernels
