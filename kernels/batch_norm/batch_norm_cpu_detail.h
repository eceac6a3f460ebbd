// Per-channel pieces of the CPU batch normalisation, shared by batch_norm_cpu.cpp and the fused
// batch_norm_relu_pool_cpu.cpp so both do the same arithmetic in the same order (their results
// are then equal bit for bit). Sums are in double.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/batch_norm/batch_norm.h"

namespace strand::kernels::cpu::detail {

// Double sums kept in kLanes partial sums (element l of a row goes to lane l % kLanes, a row's
// tail to lane 0), so the loops vectorise; every caller sums in this same order.
constexpr int kLanes = 4;
struct LaneSum {
  double lane[kLanes] = {};
  double total() const { return (lane[0] + lane[1]) + (lane[2] + lane[3]); }
};

// sum += f(l) over l in [0, length).
template <typename F>
void add_lanes(int64_t length, LaneSum& sum, F&& f) {
  int64_t l = 0;
  for (; l + kLanes <= length; l += kLanes) {
    for (int j = 0; j < kLanes; ++j) sum.lane[j] += f(l + j);
  }
  for (; l < length; ++l) sum.lane[0] += f(l);
}

// Channel c's batch statistics and the affine map y = x * scale + shift they give.
struct ChannelAffine {
  double mean, invstd, scale, shift;
};

template <typename T>
ChannelAffine channel_affine(const BatchNormShape& s, const T* x, int64_t c, const T* gamma,
                             const T* beta, double eps) {
  const int64_t c_stride = s.channels * s.length;
  const double m = static_cast<double>(s.batch * s.length);
  LaneSum sum, sum_sq;
  for (int64_t n = 0; n < s.batch; ++n) {
    const T* row = x + n * c_stride + c * s.length;
    add_lanes(s.length, sum, [row](int64_t l) { return static_cast<double>(row[l]); });
  }
  const double mu = sum.total() / m;
  for (int64_t n = 0; n < s.batch; ++n) {
    const T* row = x + n * c_stride + c * s.length;
    add_lanes(s.length, sum_sq, [row, mu](int64_t l) {
      const double d = static_cast<double>(row[l]) - mu;
      return d * d;
    });
  }
  const double inv = 1.0 / std::sqrt(sum_sq.total() / m + eps);
  const double scale = inv * (gamma ? static_cast<double>(gamma[c]) : 1.0);
  const double shift = (beta ? static_cast<double>(beta[c]) : 0.0) - mu * scale;
  return {mu, inv, scale, shift};
}

// One row of the normalised output.
template <typename T>
void affine_row(int64_t length, const T* x, double scale, double shift, T* y) {
  for (int64_t l = 0; l < length; ++l) y[l] = T(static_cast<double>(x[l]) * scale + shift);
}

// sum(dy) and sum(dy * xhat) over a channel, with mu and inv as saved (rounded to T).
struct ChannelGradSums {
  LaneSum dy, dy_xhat;
};

template <typename T>
void add_grad_sums(int64_t length, const T* x, const T* dy, double mu, double inv,
                   ChannelGradSums& sums) {
  add_lanes(length, sums.dy, [dy](int64_t l) { return static_cast<double>(dy[l]); });
  add_lanes(length, sums.dy_xhat, [x, dy, mu, inv](int64_t l) {
    return static_cast<double>(dy[l]) * (static_cast<double>(x[l]) - mu) * inv;
  });
}

// dx = gamma * invstd / M * (M * dy - sum(dy) - xhat * sum(dy * xhat)) for one row, with the
// totals of the sums; dx may alias dy.
template <typename T>
void input_grad_row(int64_t length, double m, double k, const T* x, const T* dy, double mu,
                    double inv, double sum_dy, double sum_dy_xhat, T* dx) {
  for (int64_t l = 0; l < length; ++l) {
    const double xhat = (static_cast<double>(x[l]) - mu) * inv;
    dx[l] = T(k * (m * static_cast<double>(dy[l]) - sum_dy - xhat * sum_dy_xhat));
  }
}

// Channel c's parameter gradients from its sums, and dx from dy (both [N, C, L]; dx may be
// null, or alias dy).
template <typename T>
void write_channel_grads(const BatchNormShape& s, int64_t c, const T* x, const T* dy,
                         const T* gamma, double mu, double inv, const ChannelGradSums& sums, T* dx,
                         T* dgamma, T* dbeta) {
  const double sum_dy = sums.dy.total(), sum_dy_xhat = sums.dy_xhat.total();
  if (dgamma) dgamma[c] = T(sum_dy_xhat);
  if (dbeta) dbeta[c] = T(sum_dy);
  if (!dx) return;
  const double m = static_cast<double>(s.batch * s.length);
  const double k = (gamma ? static_cast<double>(gamma[c]) : 1.0) * inv / m;
  for (int64_t n = 0; n < s.batch; ++n) {
    const int64_t base = (n * s.channels + c) * s.length;
    input_grad_row(s.length, m, k, x + base, dy + base, mu, inv, sum_dy, sum_dy_xhat, dx + base);
  }
}

}  // namespace strand::kernels::cpu::detail
