// The one-hot first layer's fast CPU forward (fast::onehot_forward in conv1d_cpu_fast.h): per
// sample, the im2col matrix built straight from the bases (1 for the base's channel, 0.25 in each
// channel for unknown, 0 in the padding) and one GEMM, every sample inside one parallel region
// with single-threaded GEMMs. (The weight gradient stays on the dense path: per-thread partial
// sums made its rounding depend on how samples split over threads and ranks, and data-parallel
// training must equal one process at the global batch; tests/train/trainer_mpi3_test.cpp.) The
// dense path this replaces expanded the one-hot input, ran im2col and copied the output on one
// thread around a parallel GEMM per chunk of samples: with two threads the layer was slower than
// with one (Basset layer 1: 24.5 vs 18.3 ms).
#include <algorithm>

#include "kernels/common/cpu_clones.h"
#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_cpu_fast.h"
#include "kernels/conv1d/conv1d_onehot.h"

namespace strand::kernels::cpu::fast {
namespace {

constexpr uint8_t kPadSlot = 5;  // after A, C, G, T and unknown

// col[(c*K + k) * L_out + t] = x[c, t*stride + k*dilation - pad_left] of the one-hot row of
// `bases`, via `slots` (scratch of pad_left + L_in + pad_right bytes).
template <typename T>
STRAND_CPU_CLONES void onehot_col(const Conv1dShape& s, BaseEncoding encoding, const uint8_t* bases,
                                  uint8_t* slots, T* col) {
  const int64_t l_out = s.out_length(), k_size = s.kernel_size;
  const int64_t width = s.pad_left + s.in_length + s.pad_right;
  std::fill(slots, slots + width, kPadSlot);
  for (int64_t i = 0; i < s.in_length; ++i) {
    slots[s.pad_left + i] = encoding == BaseEncoding::kCodes
                                ? std::min(bases[i], kBaseUnknown)
                                : static_cast<uint8_t>((bases[i / 4] >> (2 * (i % 4))) & 3u);
  }
  for (int64_t k = 0; k < k_size; ++k) {
    const uint8_t* src = slots + k * s.dilation;
    T* rows[4];
    for (int64_t c = 0; c < 4; ++c) rows[c] = col + (c * k_size + k) * l_out;
    for (int64_t t = 0; t < l_out; ++t) {
      const uint8_t b = src[t * s.stride];
      const T unknown = b == kBaseUnknown ? T(0.25) : T(0);
      for (int64_t c = 0; c < 4; ++c) rows[c][t] = b == c ? T(1) : unknown;
    }
  }
}

int64_t row_bytes(const Conv1dShape& s, BaseEncoding encoding) {
  return encoding == BaseEncoding::kCodes ? s.in_length : packed_row_bytes(s.in_length);
}

}  // namespace

template <typename T>
void onehot_forward(const Conv1dShape& s, BaseEncoding encoding, const uint8_t* bases, const T* w,
                    const T* bias, T* y) {
  const int64_t l_out = s.out_length(), kdim = 4 * s.kernel_size;
  const int64_t width = s.pad_left + s.in_length + s.pad_right, bytes = row_bytes(s, encoding);
#pragma omp parallel
  {
    T* col = scratch<T>(0, static_cast<size_t>(kdim * l_out));
    uint8_t* slots = scratch<uint8_t>(0, static_cast<size_t>(width));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < s.batch; ++n) {
      onehot_col(s, encoding, bases + n * bytes, slots, col);
      T* yn = y + n * s.out_channels * l_out;
      if (bias) {
        for (int64_t o = 0; o < s.out_channels; ++o)
          std::fill(yn + o * l_out, yn + (o + 1) * l_out, bias[o]);
      }
      gemm(CblasNoTrans, CblasNoTrans, s.out_channels, l_out, kdim, w, kdim, col, l_out,
           bias ? T(1) : T(0), yn, l_out);
    }
  }
}

#define INSTANTIATE(T)                                                                        \
  template void onehot_forward<T>(const Conv1dShape&, BaseEncoding, const uint8_t*, const T*, \
                                  const T*, T*);
STRAND_CPU_F32_F64_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cpu::fast
