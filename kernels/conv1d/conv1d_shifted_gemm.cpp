// Stride-1, one-group conv1d as K GEMMs over shifted views (see conv1d_cpu_fast.h). A chunk of nb
// samples is copied into a zero-gapped layout [C, nb * P] with P = L_in + pad_left + pad_right:
// sample b's row c sits at columns b*P + pad_left .. + L_in, zeros around it. Then, per tap k,
//   forward          y'[:, j]          += W_k   x'[:, j + k*dilation]
//   backward-data    dx'[:, j]         += W_k^T dy''[:, j + pad_left - k*dilation + H]
//   backward-weight  dW_k              += dy''[:, H + j] x'[:, j + k*dilation]^T
// over all columns j < nb*P, where W_k = W[:, :, k] (repacked [K, C_out, C_in]), H =
// dilation*(K-1), and dy'' holds sample b's dy at columns b*P + H + t (zeros around it). Output
// columns j = b*P + t with t >= L_out (resp. L_in) are computed and dropped: P exceeds L_out by
// H, so the path is taken only where that waste is small.
#include <algorithm>
#include <vector>

#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_cpu_fast.h"

namespace strand::kernels::cpu::fast {
namespace {

// GEMM width per chunk: Basset's whole batch, so a pass makes as few GEMM calls as im2col's did
// (each threaded GEMM synchronises its threads; under load every synchronisation is costly).
constexpr int64_t kTargetColumns = 1 << 15;
constexpr int64_t kMinChannels = 64;  // below this a tap's GEMM is too thin to beat im2col
// Measured (one thread, CPU time): 10-17% faster than im2col on Basset's 300 -> 200 k11 layer,
// 0-8% slower on DeepSEA's 320 -> 480 k8, whose 480-deep backward-data reduction no longer fits
// one OpenBLAS k-panel. Until a better model exists, both channel counts stay at or below this.
constexpr int64_t kMaxChannels = 384;
constexpr int64_t kMaxWastePercent = 10;  // dropped columns allowed, in percent of L_out

struct Layout {
  int64_t l_out, span, period, nb_max;  // span = H = dilation * (K - 1), period = P
};
Layout layout(const Conv1dShape& s) {
  Layout a;
  a.l_out = s.out_length();
  a.span = s.dilation * (s.kernel_size - 1);
  a.period = s.in_length + s.pad_left + s.pad_right;
  a.nb_max = std::clamp<int64_t>((kTargetColumns + a.period - 1) / a.period, 1, s.batch);
  return a;
}

// Copies stay on the calling thread, as in conv1d_im2col.cpp. rows x [rows, len] of samples n0 ..
// n0+nb-1 (sample stride rows*len) into out [rows, width]: sample b's row at columns b*P + offset,
// zeros elsewhere in the row.
template <typename T>
void gap_copy(const T* in, int64_t rows, int64_t len, int64_t n0, int64_t nb, int64_t period,
              int64_t offset, int64_t width, T* out) {
  for (int64_t r = 0; r < rows; ++r) {
    T* dst = out + r * width;
    int64_t at = 0;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t start = b * period + offset;
      std::fill(dst + at, dst + start, T(0));
      const T* src = in + ((n0 + b) * rows + r) * len;
      std::copy(src, src + len, dst + start);
      at = start + len;
    }
    std::fill(dst + at, dst + width, T(0));
  }
}

// w [C_out, C_in, K] -> wt [K, C_out, C_in].
template <typename T>
void repack_weight(const Conv1dShape& s, const T* w, T* wt) {
  const int64_t o_n = s.out_channels, c_n = s.in_channels, k_n = s.kernel_size;
  for (int64_t o = 0; o < o_n; ++o)
    for (int64_t c = 0; c < c_n; ++c)
      for (int64_t k = 0; k < k_n; ++k) wt[(k * o_n + o) * c_n + c] = w[(o * c_n + c) * k_n + k];
}

}  // namespace

bool shifted_gemm_applies(const Conv1dShape& s) {
  if (s.stride != 1 || s.groups != 1 || s.kernel_size < 2 || s.in_channels < kMinChannels ||
      s.in_channels > kMaxChannels || s.out_channels > kMaxChannels)
    return false;
  const int64_t l_out = s.out_length();
  return s.dilation * (s.kernel_size - 1) * 100 <= kMaxWastePercent * l_out;
}

template <typename T>
void shifted_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const Layout a = layout(s);
  const int64_t c_in = s.in_channels, c_out = s.out_channels;
  T* wt = scratch<T>(0, static_cast<size_t>(s.w_numel()));
  repack_weight(s, w, wt);
  for (int64_t n0 = 0; n0 < s.batch; n0 += a.nb_max) {
    const int64_t nb = std::min(a.nb_max, s.batch - n0);
    const int64_t cols = nb * a.period, width = cols + a.span;
    T* xg = scratch<T>(1, static_cast<size_t>(c_in * width));
    gap_copy(x, c_in, s.in_length, n0, nb, a.period, s.pad_left, width, xg);
    T* yg = scratch<T>(2, static_cast<size_t>(c_out * cols));
    for (int64_t k = 0; k < s.kernel_size; ++k) {
      gemm(CblasNoTrans, CblasNoTrans, c_out, cols, c_in, wt + k * c_out * c_in, c_in,
           xg + k * s.dilation, width, k == 0 ? T(0) : T(1), yg, cols);
    }
    for (int64_t b = 0; b < nb; ++b) {
      for (int64_t o = 0; o < c_out; ++o) {
        const T add = bias ? bias[o] : T(0);
        const T* src = yg + o * cols + b * a.period;
        T* dst = y + ((n0 + b) * c_out + o) * a.l_out;
        for (int64_t t = 0; t < a.l_out; ++t) dst[t] = src[t] + add;
      }
    }
  }
}

template <typename T>
void shifted_backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx) {
  const Layout a = layout(s);
  const int64_t c_in = s.in_channels, c_out = s.out_channels;
  T* wt = scratch<T>(0, static_cast<size_t>(s.w_numel()));
  repack_weight(s, w, wt);
  for (int64_t n0 = 0; n0 < s.batch; n0 += a.nb_max) {
    const int64_t nb = std::min(a.nb_max, s.batch - n0);
    const int64_t cols = nb * a.period;
    // Reads reach column cols - 1 + pad_left + H: zeros up to there.
    const int64_t width = cols + a.span + s.pad_left + 1;
    T* dyg = scratch<T>(1, static_cast<size_t>(c_out * width));
    gap_copy(dy, c_out, a.l_out, n0, nb, a.period, a.span, width, dyg);
    T* dxg = scratch<T>(2, static_cast<size_t>(c_in * cols));
    for (int64_t k = 0; k < s.kernel_size; ++k) {
      gemm(CblasTrans, CblasNoTrans, c_in, cols, c_out, wt + k * c_out * c_in, c_in,
           dyg + s.pad_left - k * s.dilation + a.span, width, k == 0 ? T(0) : T(1), dxg, cols);
    }
    for (int64_t b = 0; b < nb; ++b) {
      for (int64_t c = 0; c < c_in; ++c) {
        const T* src = dxg + c * cols + b * a.period;
        std::copy(src, src + s.in_length, dx + ((n0 + b) * c_in + c) * s.in_length);
      }
    }
  }
}

template <typename T>
void shifted_backward_weight(const Conv1dShape& s, const T* x, const T* dy, T* dw,
                             bool accumulate) {
  const Layout a = layout(s);
  const int64_t c_in = s.in_channels, c_out = s.out_channels;
  T* dwt = scratch<T>(0, static_cast<size_t>(s.w_numel()));
  for (int64_t n0 = 0; n0 < s.batch; n0 += a.nb_max) {
    const int64_t nb = std::min(a.nb_max, s.batch - n0);
    const int64_t cols = nb * a.period, x_width = cols + a.span, dy_width = cols + a.span;
    T* xg = scratch<T>(1, static_cast<size_t>(c_in * x_width));
    gap_copy(x, c_in, s.in_length, n0, nb, a.period, s.pad_left, x_width, xg);
    // dy at columns b*P + t: dy'' shifted by H, its zeros fill t >= L_out.
    T* dyg = scratch<T>(2, static_cast<size_t>(c_out * dy_width));
    gap_copy(dy, c_out, a.l_out, n0, nb, a.period, 0, dy_width, dyg);
    for (int64_t k = 0; k < s.kernel_size; ++k) {
      gemm(CblasNoTrans, CblasTrans, c_out, c_in, cols, dyg, dy_width, xg + k * s.dilation, x_width,
           n0 == 0 ? T(0) : T(1), dwt + k * c_out * c_in, c_in);
    }
  }
  const int64_t k_n = s.kernel_size;
  for (int64_t o = 0; o < c_out; ++o) {
    for (int64_t c = 0; c < c_in; ++c) {
      for (int64_t k = 0; k < k_n; ++k) {
        const T v = dwt[(k * c_out + o) * c_in + c];
        T& out = dw[(o * c_in + c) * k_n + k];
        out = accumulate ? out + v : v;
      }
    }
  }
}

#define INSTANTIATE(T)                                                                    \
  template void shifted_forward<T>(const Conv1dShape&, const T*, const T*, const T*, T*); \
  template void shifted_backward_data<T>(const Conv1dShape&, const T*, const T*, T*);     \
  template void shifted_backward_weight<T>(const Conv1dShape&, const T*, const T*, T*, bool);
STRAND_CPU_F32_F64_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cpu::fast
