// CPU fused batch norm + ReLU + max pooling (see batch_norm_relu_pool.h). One channel per
// iteration; each row's normalised, rectified values live only in a per-thread row buffer.
// No FMA contraction: the training kernels' AVX-512/AVX2 variants (STRAND_CPU_CLONES) must round
// exactly as the unfused ops do (tested bit for bit), and those run baseline code without FMA.
#pragma GCC optimize("fp-contract=off")
#include <algorithm>
#include <vector>

#include "core/bfloat16.h"
#include "kernels/batch_norm/batch_norm_cpu_detail.h"
#include "kernels/batch_norm/batch_norm_relu_pool.h"
#include "kernels/common/cpu_clones.h"
#include "kernels/common/type_lists.h"
#include "kernels/elementwise/elementwise_ops.h"

namespace strand::kernels::cpu {
namespace {

// r = relu(batch_norm(x)) for one row, rounded as the unfused ops round (z to T, then r to T).
// relu maps NaN to 0, so r holds no NaN, and r > 0 exactly where relu's slope at z is 1.
template <typename T>
void normalize_rectify_row(int64_t length, const T* x, double scale, double shift, T* r) {
  using A = acc_t<T>;
  for (int64_t l = 0; l < length; ++l) {
    const T z = T(static_cast<double>(x[l]) * scale + shift);
    r[l] = T(unary_value<UnaryOp::kRelu, A>(A(z), A(0), A(0)));
  }
}

// Window t of the row r: [first, last), clipped to the row (padding never wins).
struct Window {
  int64_t first, last;
};
Window window(const BatchNormReluPoolShape& s, int64_t t) {
  return {std::max<int64_t>(t * s.stride - s.padding, 0),
          std::min<int64_t>(t * s.stride - s.padding + s.kernel, s.norm.length)};
}

// The window's first maximum, as max_pool1d picks it (r has no NaN, so no NaN rule is needed);
// selects instead of branches, as the comparisons are unpredictable.
template <typename T>
int64_t window_argmax(const T* r, Window w) {
  using A = acc_t<T>;
  A best = A(r[w.first]);
  int64_t arg = w.first;
  for (int64_t pos = w.first + 1; pos < w.last; ++pos) {
    const A v = A(r[pos]);
    const bool greater = v > best;
    best = greater ? v : best;
    arg = greater ? pos : arg;
  }
  return arg;
}

}  // namespace

template <typename T>
STRAND_CPU_CLONES void batch_norm_relu_max_pool_forward(const Context&,
                                                        const BatchNormReluPoolShape& s, const T* x,
                                                        const T* gamma, const T* beta, double eps,
                                                        T* y, T* mean, T* invstd, double* affine) {
  check_pool1d(s.pool());
  const BatchNormShape& b = s.norm;
  const int64_t c_stride = b.channels * b.length;
  const int64_t out_len = s.out_length();
#pragma omp parallel
  {
    std::vector<T> r(static_cast<size_t>(b.length));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < b.channels; ++c) {
      const detail::ChannelAffine a = detail::channel_affine(b, x, c, gamma, beta, eps);
      for (int64_t n = 0; n < b.batch; ++n) {
        normalize_rectify_row(b.length, x + n * c_stride + c * b.length, a.scale, a.shift,
                              r.data());
        T* out = y + (n * b.channels + c) * out_len;
        for (int64_t t = 0; t < out_len; ++t) out[t] = r[window_argmax(r.data(), window(s, t))];
      }
      mean[c] = T(a.mean);
      invstd[c] = T(a.invstd);
      affine[2 * c] = a.scale;
      affine[2 * c + 1] = a.shift;
    }
  }
}

template <typename T>
STRAND_CPU_CLONES void batch_norm_relu_max_pool_backward(
    const Context&, const BatchNormReluPoolShape& s, const T* x, const T* dy, const T* gamma,
    const T* mean, const T* invstd, const double* affine, T* dx, T* dgamma, T* dbeta) {
  using A = acc_t<T>;
  const BatchNormShape& b = s.norm;
  const int64_t c_stride = b.channels * b.length;
  const int64_t out_len = s.out_length();
#pragma omp parallel
  {
    std::vector<T> r(static_cast<size_t>(b.length));
    // The gradient reaching the batch norm's output, channel c's rows: in dx when there is one.
    std::vector<T> own(dx ? 0 : static_cast<size_t>(b.batch * b.length));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < b.channels; ++c) {
      const double mu = static_cast<double>(mean[c]), inv = static_cast<double>(invstd[c]);
      auto dz_row = [&](int64_t n) {
        return dx ? dx + n * c_stride + c * b.length : own.data() + n * b.length;
      };
      detail::ChannelGradSums sums;
      for (int64_t n = 0; n < b.batch; ++n) {
        const T* xrow = x + n * c_stride + c * b.length;
        normalize_rectify_row(b.length, xrow, affine[2 * c], affine[2 * c + 1], r.data());
        // max_pool1d's backward (scatter-add in window order), then relu's (dy * slope at z).
        T* dz = dz_row(n);
        std::fill(dz, dz + b.length, T(0));
        const T* g = dy + (n * b.channels + c) * out_len;
        for (int64_t t = 0; t < out_len; ++t) {
          const int64_t pos = window_argmax(r.data(), window(s, t));
          dz[pos] = T(A(dz[pos]) + A(g[t]));
        }
        for (int64_t l = 0; l < b.length; ++l) dz[l] = T(A(dz[l]) * (A(r[l]) > A(0) ? A(1) : A(0)));
        detail::add_grad_sums(b.length, xrow, dz, mu, inv, sums);
      }
      // dz sits in dx (when there is one): dx = f(dz) in place.
      detail::write_channel_grads(b, c, x, dx, gamma, mu, inv, sums, dx, dgamma, dbeta);
    }
  }
}

template <typename T>
STRAND_CPU_CLONES void affine_relu_max_pool_inference(const Context&,
                                                      const BatchNormReluPoolShape& s, const T* x,
                                                      const double* scale, const double* shift,
                                                      T* y) {
  check_pool1d(s.pool());
  using A = acc_t<T>;
  const BatchNormShape& b = s.norm;
  const int64_t out_len = s.out_length(), rows = b.batch * b.channels, len = b.length;
  const bool tiled = s.padding == 0 && s.stride == s.kernel;  // the usual pooling: windows tile
#pragma omp parallel if (rows * len > (1 << 15))
  {
    std::vector<A> r(static_cast<size_t>(len));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t c = i % b.channels;
      const T* row = x + i * len;
      // r = relu(z): no NaN (relu maps it to 0) and >= 0, so each window's maximum is a plain max.
      const A sc = scale ? A(scale[c]) : A(1), sh = scale ? A(shift[c]) : A(0);
#pragma omp simd
      for (int64_t l = 0; l < len; ++l) {
        const A z = A(row[l]) * sc + sh;
        r[l] = z > A(0) ? z : A(0);
      }
      T* out = y + i * out_len;
      if (tiled) {
        const int64_t k = s.kernel;
        for (int64_t t = 0; t < out_len; ++t) {
          A best = r[t * k];
          for (int64_t j = 1; j < k; ++j) best = std::max(best, r[t * k + j]);
          out[t] = T(best);
        }
        continue;
      }
      for (int64_t t = 0; t < out_len; ++t) {
        const Window w = window(s, t);
        A best = r[w.first];
        for (int64_t pos = w.first + 1; pos < w.last; ++pos) best = std::max(best, r[pos]);
        out[t] = T(best);
      }
    }
  }
}

#define INSTANTIATE(T)                                                                             \
  template void batch_norm_relu_max_pool_forward<T>(const Context&, const BatchNormReluPoolShape&, \
                                                    const T*, const T*, const T*, double, T*, T*,  \
                                                    T*, double*);                                  \
  template void batch_norm_relu_max_pool_backward<T>(                                              \
      const Context&, const BatchNormReluPoolShape&, const T*, const T*, const T*, const T*,       \
      const T*, const double*, T*, T*, T*);                                                        \
  template void affine_relu_max_pool_inference<T>(const Context&, const BatchNormReluPoolShape&,   \
                                                  const T*, const double*, const double*, T*);
STRAND_FLOATING_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cpu
