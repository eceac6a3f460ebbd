// CPU twins of optim.cu. No FMA contraction: the AVX-512/AVX2 variants (STRAND_CPU_CLONES) round
// exactly as the baseline build, which has no FMA, so a step does not depend on the CPU.
#pragma GCC optimize("fp-contract=off")
#include <cmath>

#include "core/bfloat16.h"
#include "kernels/common/cpu_clones.h"
#include "kernels/common/type_lists.h"
#include "kernels/optim/optim_ops.h"

namespace strand::kernels::cpu {

template <typename T>
STRAND_CPU_CLONES void sgd_step(const Context&, int64_t n, const SgdConfig& c, bool first_step,
                                T* param, const T* grad, T* momentum) {
  using A = acc_t<T>;
#pragma omp parallel for if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) {
    A buf = momentum ? A(momentum[i]) : A(0);
    param[i] = T(sgd_update<A>(A(param[i]), A(grad[i]), &buf, first_step, A(c.lr), A(c.momentum),
                               A(c.dampening), A(c.weight_decay), c.nesterov));
    if (momentum) momentum[i] = T(buf);
  }
}

template <typename T>
STRAND_CPU_CLONES void adam_step(const Context&, int64_t n, const AdamConfig& c, int64_t step,
                                 T* param, const T* grad, T* exp_avg, T* exp_avg_sq) {
  using A = acc_t<T>;
  const A bias1 = A(1 - std::pow(c.beta1, static_cast<double>(step)));
  const A bias2 = A(1 - std::pow(c.beta2, static_cast<double>(step)));
#pragma omp parallel for if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) {
    A m = A(exp_avg[i]), v = A(exp_avg_sq[i]);
    param[i] =
        T(adam_update<A>(A(param[i]), A(grad[i]), &m, &v, A(c.lr), A(c.beta1), A(c.beta2), A(c.eps),
                         A(c.weight_decay), c.decoupled_weight_decay, bias1, bias2));
    exp_avg[i] = T(m), exp_avg_sq[i] = T(v);
  }
}

template <typename T>
void accumulate_squares(const Context&, int64_t n, const T* x, double* total) {
  double sum = 0;
#pragma omp parallel for reduction(+ : sum) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  *total += sum;
}

template <typename T>
void clip_by_total_norm(const Context&, int64_t n, T* x, const double* total, double max_norm) {
  const double factor = clip_factor(*total, max_norm);
  if (factor >= 1.0) return;
#pragma omp parallel for if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) x[i] = T(static_cast<double>(x[i]) * factor);
}

STRAND_FLOATING_TYPES(STRAND_OPTIM_INSTANTIATE)

}  // namespace strand::kernels::cpu
