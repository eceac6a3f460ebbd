// The per-element optimizer formulas shared by optim_cpu.cpp and optim.cu (PyTorch's semantics).
#pragma once

#include "kernels/common/hd.h"
#include "kernels/elementwise/elementwise_ops.h"
#include "kernels/optim/optim.h"

namespace strand::kernels {

// Returns the new parameter; updates *buf (the momentum buffer) when momentum is used.
template <typename A>
STRAND_HD A sgd_update(A p, A g, A* buf, bool first_step, A lr, A momentum, A dampening, A wd,
                       bool nesterov) {
  if (wd != A(0)) g += wd * p;
  if (momentum != A(0)) {
    const A b = first_step ? g : momentum * *buf + (A(1) - dampening) * g;
    *buf = b;
    g = nesterov ? g + momentum * b : b;
  }
  return p - lr * g;
}

template <typename A>
STRAND_HD A adam_update(A p, A g, A* m, A* v, A lr, A beta1, A beta2, A eps, A wd, bool decoupled,
                        A bias1, A bias2) {
  if (decoupled) {
    p *= A(1) - lr * wd;
  } else if (wd != A(0)) {
    g += wd * p;
  }
  *m = beta1 * *m + (A(1) - beta1) * g;
  *v = beta2 * *v + (A(1) - beta2) * g * g;
  const A denom = hd_sqrt(*v / bias2) + eps;
  return p - (lr / bias1) * *m / denom;
}

inline double clip_factor(double total_squares, double max_norm) {
  const double factor = max_norm / (__builtin_sqrt(total_squares) + 1e-6);
  return factor < 1.0 ? factor : 1.0;
}

}  // namespace strand::kernels
