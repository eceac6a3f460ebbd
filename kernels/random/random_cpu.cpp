// CPU twins of random.cu.
#include "core/bfloat16.h"
#include "kernels/common/type_lists.h"
#include "kernels/random/random.h"

namespace strand::kernels::cpu {

template <typename T>
void uniform(const Context&, int64_t n, PhiloxState s, double lo, double hi, T* out) {
  const float flo = static_cast<float>(lo), span = static_cast<float>(hi - lo);
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = T(flo + span * philox_uniform(s, i));
}

template <typename T>
void normal(const Context&, int64_t n, PhiloxState s, double mean, double std, T* out) {
  const float m = static_cast<float>(mean), sd = static_cast<float>(std);
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = T(m + sd * philox_normal(s, i));
}

template <typename T>
void bernoulli_mask(const Context&, int64_t n, PhiloxState s, double keep, double scale, T* out) {
  const float k = static_cast<float>(keep);
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = philox_uniform(s, i) < k ? T(scale) : T(0);
}

STRAND_FLOATING_TYPES(STRAND_RANDOM_INSTANTIATE)

}  // namespace strand::kernels::cpu
