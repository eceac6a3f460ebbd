// CPU twins of random.cu.
#include "core/bfloat16.h"
#include "kernels/random/random.h"

namespace strand::kernels::cpu {

template <typename T>
void uniform(int64_t n, PhiloxState s, double lo, double hi, T* out, const Context&) {
  const float flo = static_cast<float>(lo), span = static_cast<float>(hi - lo);
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = T(flo + span * philox_uniform(s, i));
}

template <typename T>
void normal(int64_t n, PhiloxState s, double mean, double std, T* out, const Context&) {
  const float m = static_cast<float>(mean), sd = static_cast<float>(std);
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = T(m + sd * philox_normal(s, i));
}

template <typename T>
void bernoulli_mask(int64_t n, PhiloxState s, double keep, double scale, T* out, const Context&) {
  const float k = static_cast<float>(keep);
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = philox_uniform(s, i) < k ? T(scale) : T(0);
}

#define INSTANTIATE(T)                                                                \
  template void uniform<T>(int64_t, PhiloxState, double, double, T*, const Context&); \
  template void normal<T>(int64_t, PhiloxState, double, double, T*, const Context&);  \
  template void bernoulli_mask<T>(int64_t, PhiloxState, double, double, T*, const Context&);
INSTANTIATE(float)
INSTANTIATE(double)
INSTANTIATE(BFloat16)
#undef INSTANTIATE

}  // namespace strand::kernels::cpu
