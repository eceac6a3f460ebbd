// The fast CPU conv1d path: im2col + OpenBLAS GEMM per group (several samples per GEMM when the
// output is short, so the GEMM stays wide), and direct loops when a group is too small for GEMM.
//
// Per group g and a chunk of B samples, with columns j = b*L_out + t:
//   col[c*K + k, j]  = x[n0+b, g*Cg_in + c, t*stride + k*dilation - pad_left]   (0 when padded)
//   forward          y_g[o, j]   = W_g[o, :] . col[:, j]          GEMM NN, W_g as stored
//   backward-data    dcol[:, j]  = W_g^T dy_g[:, j]              GEMM TN, then col2im into dx
//   backward-weight  dW_g       += dy_g col^T                     GEMM NT
// With B == 1 the GEMM reads/writes x, y, dy in place (ld = L); only B > 1 needs a copy.
// OpenBLAS threads each GEMM; the im2col/col2im/copies around it stay on the calling thread. With
// OpenBLAS's OpenMP build they could be OpenMP loops, but measured on 2 cores shared with other
// work (load 12-14), every extra parallel region between GEMMs cost more in barrier spinning than
// the memory-bound copies gained (Basset step 5.0-6.7 s serial vs 8.3-9.9 s parallel).
#include <algorithm>
#include <vector>

#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_cpu_fast.h"

namespace strand::kernels::cpu::fast {
namespace {

constexpr int64_t kTargetColumns = 1024;    // GEMM width worth batching samples for
constexpr int64_t kMaxWorkspace = 8 << 20;  // elements per scratch buffer (32 MiB of float)

// Output positions t in [lo, hi) read an input position inside [0, L_in) for tap k.
struct TapRange {
  int64_t lo, hi, offset;  // input position = t*stride + offset
};
TapRange tap_range(const Conv1dShape& s, int64_t l_out, int64_t k) {
  const int64_t offset = k * s.dilation - s.pad_left;
  int64_t lo = 0;
  if (offset < 0) lo = (-offset + s.stride - 1) / s.stride;
  const int64_t last = s.in_length - 1 - offset;  // largest t*stride allowed
  int64_t hi = last < 0 ? 0 : std::min(l_out, last / s.stride + 1);
  return {lo, std::max(lo, hi), offset};
}

// True when the GEMM per column is too small to pay for im2col (depthwise and tiny groups).
bool use_direct(const Conv1dShape& s) {
  return s.out_per_group() * s.in_per_group() * s.kernel_size < 64;
}

// 1x1, stride 1, unpadded: the input rows are already the col matrix.
bool is_pointwise(const Conv1dShape& s) {
  return s.kernel_size == 1 && s.stride == 1 && s.pad_left == 0 && s.pad_right == 0;
}

int64_t chunk_batch(const Conv1dShape& s, int64_t l_out) {
  if (l_out >= kTargetColumns) return 1;
  const int64_t rows = std::max(s.in_per_group() * s.kernel_size, s.out_per_group());
  int64_t b = (kTargetColumns + l_out - 1) / l_out;
  b = std::min(b, std::max<int64_t>(1, kMaxWorkspace / (rows * l_out)));
  return std::min(b, s.batch);
}

// col[(c*K + k) * ld + b*L_out + t] for samples n0 .. n0+nb-1 of group g.
template <typename T>
void im2col(const Conv1dShape& s, int64_t l_out, const T* x, int64_t n0, int64_t nb, int64_t g,
            T* col, int64_t ld) {
  const int64_t cin_g = s.in_per_group();
  const int64_t rows = cin_g * s.kernel_size;
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t c = r / s.kernel_size;
      const int64_t k = r % s.kernel_size;
      const T* src = x + ((n0 + b) * s.in_channels + g * cin_g + c) * s.in_length;
      T* dst = col + r * ld + b * l_out;
      const TapRange tr = tap_range(s, l_out, k);
      // A tap can miss the input entirely (lo = hi >= l_out with heavy padding).
      const int64_t lo = std::min(tr.lo, l_out), hi = std::min(tr.hi, l_out);
      std::fill(dst, dst + lo, T(0));
      if (s.stride == 1) {
        std::copy(src + tr.offset + lo, src + tr.offset + hi, dst + lo);
      } else {
        for (int64_t t = lo; t < hi; ++t) dst[t] = src[t * s.stride + tr.offset];
      }
      std::fill(dst + hi, dst + l_out, T(0));
    }
  }
}

// dx rows of group g (overwritten) from dcol, the transpose of im2col.
template <typename T>
void col2im(const Conv1dShape& s, int64_t l_out, const T* dcol, int64_t ld, int64_t n0, int64_t nb,
            int64_t g, T* dx) {
  const int64_t cin_g = s.in_per_group();
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t c = 0; c < cin_g; ++c) {
      T* dst = dx + ((n0 + b) * s.in_channels + g * cin_g + c) * s.in_length;
      std::fill(dst, dst + s.in_length, T(0));
      for (int64_t k = 0; k < s.kernel_size; ++k) {
        const T* src = dcol + (c * s.kernel_size + k) * ld + b * l_out;
        const TapRange tr = tap_range(s, l_out, k);
        if (s.stride == 1) {
          T* to = dst + tr.offset;
#pragma omp simd
          for (int64_t t = tr.lo; t < tr.hi; ++t) to[t] += src[t];
        } else {
          for (int64_t t = tr.lo; t < tr.hi; ++t) dst[t * s.stride + tr.offset] += src[t];
        }
      }
    }
  }
}

template <typename T>
void direct_forward(const Conv1dShape& s, int64_t l_out, const T* x, const T* w, const T* bias,
                    T* y) {
  const int64_t cin_g = s.in_per_group();
  const int64_t cout_g = s.out_per_group();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      T* dst = y + (n * s.out_channels + o) * l_out;
      std::fill(dst, dst + l_out, bias ? bias[o] : T(0));
      const int64_t g = o / cout_g;
      for (int64_t c = 0; c < cin_g; ++c) {
        const T* src = x + (n * s.in_channels + g * cin_g + c) * s.in_length;
        for (int64_t k = 0; k < s.kernel_size; ++k) {
          const T wv = w[(o * cin_g + c) * s.kernel_size + k];
          const TapRange tr = tap_range(s, l_out, k);
          for (int64_t t = tr.lo; t < tr.hi; ++t) dst[t] += wv * src[t * s.stride + tr.offset];
        }
      }
    }
  }
}

template <typename T>
void direct_backward_data(const Conv1dShape& s, int64_t l_out, const T* dy, const T* w, T* dx) {
  const int64_t cin_g = s.in_per_group();
  const int64_t cout_g = s.out_per_group();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t ci = 0; ci < s.in_channels; ++ci) {
      T* dst = dx + (n * s.in_channels + ci) * s.in_length;
      std::fill(dst, dst + s.in_length, T(0));
      const int64_t g = ci / cin_g;
      const int64_t c = ci % cin_g;
      for (int64_t o = g * cout_g; o < (g + 1) * cout_g; ++o) {
        const T* src = dy + (n * s.out_channels + o) * l_out;
        for (int64_t k = 0; k < s.kernel_size; ++k) {
          const T wv = w[(o * cin_g + c) * s.kernel_size + k];
          const TapRange tr = tap_range(s, l_out, k);
          for (int64_t t = tr.lo; t < tr.hi; ++t) dst[t * s.stride + tr.offset] += wv * src[t];
        }
      }
    }
  }
}

template <typename T>
void direct_backward_weight(const Conv1dShape& s, int64_t l_out, const T* x, const T* dy, T* dw,
                            bool accumulate) {
  const int64_t cin_g = s.in_per_group();
  const int64_t cout_g = s.out_per_group();
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < s.out_channels; ++o) {
    const int64_t g = o / cout_g;
    for (int64_t c = 0; c < cin_g; ++c) {
      for (int64_t k = 0; k < s.kernel_size; ++k) {
        const TapRange tr = tap_range(s, l_out, k);
        T acc = T(0);
        for (int64_t n = 0; n < s.batch; ++n) {
          const T* d = dy + (n * s.out_channels + o) * l_out;
          const T* src = x + (n * s.in_channels + g * cin_g + c) * s.in_length;
          for (int64_t t = tr.lo; t < tr.hi; ++t) acc += d[t] * src[t * s.stride + tr.offset];
        }
        T& out = dw[(o * cin_g + c) * s.kernel_size + k];
        out = accumulate ? out + acc : acc;
      }
    }
  }
}

// dy rows of group g for samples n0.. gathered into [C_out/g, nb*L_out].
template <typename T>
void gather_rows(const Conv1dShape& s, int64_t l_out, const T* dy, int64_t n0, int64_t nb,
                 int64_t g, T* out) {
  const int64_t cout_g = s.out_per_group();
  for (int64_t o = 0; o < cout_g; ++o) {
    for (int64_t b = 0; b < nb; ++b) {
      const T* src = dy + ((n0 + b) * s.out_channels + g * cout_g + o) * l_out;
      std::copy(src, src + l_out, out + o * nb * l_out + b * l_out);
    }
  }
}

}  // namespace

template <typename T>
void forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t l_out = s.out_length();
  if (use_direct(s)) return direct_forward(s, l_out, x, w, bias, y);
  if (shifted_gemm_applies(s)) return shifted_forward(s, x, w, bias, y);
  const int64_t cin_g = s.in_per_group();
  const int64_t cout_g = s.out_per_group();
  const int64_t kdim = cin_g * s.kernel_size;
  const int64_t chunk = chunk_batch(s, l_out);
  for (int64_t n0 = 0; n0 < s.batch; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.batch - n0);
    const int64_t cols = nb * l_out;
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* wg = w + g * cout_g * kdim;
      const T* col;
      int64_t ldb = cols;
      if (nb == 1 && is_pointwise(s)) {
        col = x + (n0 * s.in_channels + g * cin_g) * s.in_length;
        ldb = s.in_length;
      } else {
        T* buf = scratch<T>(0, static_cast<size_t>(kdim * cols));
        im2col(s, l_out, x, n0, nb, g, buf, cols);
        col = buf;
      }
      if (nb == 1) {
        // Bias first, then C += W col: OpenBLAS skips its beta pass with beta == 1.
        T* yg = y + (n0 * s.out_channels + g * cout_g) * l_out;
        if (bias) {
          for (int64_t o = 0; o < cout_g; ++o)
            std::fill(yg + o * l_out, yg + (o + 1) * l_out, bias[g * cout_g + o]);
        }
        gemm(CblasNoTrans, CblasNoTrans, cout_g, cols, kdim, wg, kdim, col, ldb, bias ? T(1) : T(0),
             yg, l_out);
      } else {
        T* tmp = scratch<T>(1, static_cast<size_t>(cout_g * cols));
        gemm(CblasNoTrans, CblasNoTrans, cout_g, cols, kdim, wg, kdim, col, ldb, T(0), tmp, cols);
        for (int64_t b = 0; b < nb; ++b) {
          for (int64_t o = 0; o < cout_g; ++o) {
            const T add = bias ? bias[g * cout_g + o] : T(0);
            const T* src = tmp + o * cols + b * l_out;
            T* dst = y + ((n0 + b) * s.out_channels + g * cout_g + o) * l_out;
            for (int64_t t = 0; t < l_out; ++t) dst[t] = src[t] + add;
          }
        }
      }
    }
  }
}

template <typename T>
void backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t l_out = s.out_length();
  if (use_direct(s)) return direct_backward_data(s, l_out, dy, w, dx);
  if (shifted_gemm_applies(s)) return shifted_backward_data(s, dy, w, dx);
  const int64_t cin_g = s.in_per_group();
  const int64_t cout_g = s.out_per_group();
  const int64_t kdim = cin_g * s.kernel_size;
  const int64_t chunk = chunk_batch(s, l_out);
  for (int64_t n0 = 0; n0 < s.batch; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.batch - n0);
    const int64_t cols = nb * l_out;
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* wg = w + g * cout_g * kdim;
      const T* dyg;
      int64_t ldd = cols;
      if (nb == 1) {
        dyg = dy + (n0 * s.out_channels + g * cout_g) * l_out;
      } else {
        T* tmp = scratch<T>(1, static_cast<size_t>(cout_g * cols));
        gather_rows(s, l_out, dy, n0, nb, g, tmp);
        dyg = tmp;
      }
      if (nb == 1 && is_pointwise(s)) {
        T* dxg = dx + (n0 * s.in_channels + g * cin_g) * s.in_length;
        gemm(CblasTrans, CblasNoTrans, kdim, cols, cout_g, wg, kdim, dyg, ldd, T(0), dxg,
             s.in_length);
      } else {
        T* dcol = scratch<T>(0, static_cast<size_t>(kdim * cols));
        gemm(CblasTrans, CblasNoTrans, kdim, cols, cout_g, wg, kdim, dyg, ldd, T(0), dcol, cols);
        col2im(s, l_out, dcol, cols, n0, nb, g, dx);
      }
    }
  }
}

template <typename T>
void backward_weight(const Conv1dShape& s, const T* x, const T* dy, T* dw, bool accumulate) {
  const int64_t l_out = s.out_length();
  if (use_direct(s)) return direct_backward_weight(s, l_out, x, dy, dw, accumulate);
  if (shifted_gemm_applies(s)) return shifted_backward_weight(s, x, dy, dw, accumulate);
  const int64_t cin_g = s.in_per_group();
  const int64_t cout_g = s.out_per_group();
  const int64_t kdim = cin_g * s.kernel_size;
  const int64_t chunk = chunk_batch(s, l_out);
  for (int64_t n0 = 0; n0 < s.batch; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.batch - n0);
    const int64_t cols = nb * l_out;
    const T beta = (n0 == 0 && !accumulate) ? T(0) : T(1);
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* dyg;
      int64_t ldd = cols;
      if (nb == 1) {
        dyg = dy + (n0 * s.out_channels + g * cout_g) * l_out;
      } else {
        T* tmp = scratch<T>(1, static_cast<size_t>(cout_g * cols));
        gather_rows(s, l_out, dy, n0, nb, g, tmp);
        dyg = tmp;
      }
      const T* col;
      int64_t ldc = cols;
      if (nb == 1 && is_pointwise(s)) {
        col = x + (n0 * s.in_channels + g * cin_g) * s.in_length;
        ldc = s.in_length;
      } else {
        T* buf = scratch<T>(0, static_cast<size_t>(kdim * cols));
        im2col(s, l_out, x, n0, nb, g, buf, cols);
        col = buf;
      }
      gemm(CblasNoTrans, CblasTrans, cout_g, kdim, cols, dyg, ldd, col, ldc, beta,
           dw + g * cout_g * kdim, kdim);
    }
  }
}

#define INSTANTIATE(T)                                                            \
  template void forward<T>(const Conv1dShape&, const T*, const T*, const T*, T*); \
  template void backward_data<T>(const Conv1dShape&, const T*, const T*, T*);     \
  template void backward_weight<T>(const Conv1dShape&, const T*, const T*, T*, bool);
STRAND_CPU_F32_F64_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cpu::fast
