// CPU twin of batch_norm.cu: one channel per iteration, sums in double.
#include <cmath>

#include "core/bfloat16.h"
#include "kernels/batch_norm/batch_norm.h"
#include "kernels/batch_norm/batch_norm_cpu_detail.h"
#include "kernels/common/type_lists.h"

namespace strand::kernels::cpu {

template <typename T>
void batch_norm_forward(const Context&, const BatchNormShape& s, const T* x, const T* gamma,
                        const T* beta, double eps, T* y, T* mean, T* invstd) {
  const int64_t c_stride = s.channels * s.length;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < s.channels; ++c) {
    const detail::ChannelAffine a = detail::channel_affine(s, x, c, gamma, beta, eps);
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t base = n * c_stride + c * s.length;
      detail::affine_row(s.length, x + base, a.scale, a.shift, y + base);
    }
    mean[c] = T(a.mean);
    invstd[c] = T(a.invstd);
  }
}

template <typename T>
void batch_norm_inference(const Context&, const BatchNormShape& s, const T* x, const T* gamma,
                          const T* beta, const T* mean, const T* var, double eps, T* y) {
  const int64_t c_stride = s.channels * s.length;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
      const double scale = inv * (gamma ? static_cast<double>(gamma[c]) : 1.0);
      const double shift =
          (beta ? static_cast<double>(beta[c]) : 0.0) - static_cast<double>(mean[c]) * scale;
      const T* row = x + n * c_stride + c * s.length;
      T* out = y + n * c_stride + c * s.length;
      for (int64_t l = 0; l < s.length; ++l)
        out[l] = T(static_cast<double>(row[l]) * scale + shift);
    }
  }
}

template <typename T>
void batch_norm_backward(const Context&, const BatchNormShape& s, const T* x, const T* dy,
                         const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                         T* dbeta) {
  const int64_t c_stride = s.channels * s.length;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < s.channels; ++c) {
    const double mu = static_cast<double>(mean[c]), inv = static_cast<double>(invstd[c]);
    detail::ChannelGradSums sums;
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t base = n * c_stride + c * s.length;
      detail::add_grad_sums(s.length, x + base, dy + base, mu, inv, sums);
    }
    detail::write_channel_grads(s, c, x, dy, gamma, mu, inv, sums, dx, dgamma, dbeta);
  }
}

STRAND_FLOATING_TYPES(STRAND_BATCH_NORM_INSTANTIATE)

}  // namespace strand::kernels::cpu
