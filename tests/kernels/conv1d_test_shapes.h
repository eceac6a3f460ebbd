// The sweep of conv1d shapes every conv1d test compares implementations over: odd lengths,
// stride > 1, dilation > 1, groups and depthwise, asymmetric and "same" padding, N = 1, channel
// counts that are not multiples of 8, and batches that span several CPU GEMM chunks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/conv1d/conv1d.h"

namespace strand::testing {

// The CUDA conv1d tests' tolerance per precision, relative (rtol) and, times the largest reference
// magnitude, absolute (atol). conv1d_gpu_tolerance_test checks on the CPU, by rounding operands as
// the GPU does, that each passes with room to spare before a GPU ever runs the tests.
inline double conv1d_gpu_tolerance(kernels::Conv1dPrecision p) {
  switch (p) {
    case kernels::Conv1dPrecision::kFp32:
      return 1e-5;
    case kernels::Conv1dPrecision::kTf32:
      return 2e-3;
    case kernels::Conv1dPrecision::kBf16:
      return 1e-2;
  }
  return 0;
}

inline std::vector<kernels::Conv1dShape> conv1d_sweep_shapes() {
  // N, C_in, C_out, L_in, K, stride, pad_left, pad_right, dilation, groups
  return {
      {1, 3, 5, 17, 3, 1, 0, 0, 1, 1},     // odd everything, valid padding
      {2, 4, 7, 33, 5, 2, 1, 1, 1, 1},     // stride 2
      {3, 6, 9, 40, 3, 1, 4, 4, 4, 1},     // dilation 4, same padding
      {2, 8, 8, 31, 3, 1, 1, 1, 1, 8},     // depthwise
      {2, 8, 16, 29, 5, 1, 2, 2, 1, 8},    // depthwise, channel multiplier 2
      {2, 6, 10, 25, 4, 3, 1, 2, 2, 2},    // groups 2, stride 3, dilation 2, asymmetric
      {1, 4, 12, 50, 8, 1, 3, 4, 1, 1},    // "same" with an even kernel (asymmetric)
      {5, 13, 11, 19, 1, 1, 0, 0, 1, 1},   // pointwise
      {4, 9, 6, 7, 7, 1, 0, 0, 1, 1},      // kernel as long as the input: L_out = 1
      {2, 5, 3, 6, 4, 1, 3, 3, 3, 1},      // dilated kernel longer than the unpadded input
      {3, 12, 20, 61, 11, 1, 5, 5, 1, 4},  // groups 4, Basset-like odd kernel
      {1, 3, 4, 1100, 3, 1, 1, 1, 1, 1},   // long output: one sample per CPU GEMM
      {2, 4, 6, 1030, 1, 1, 0, 0, 1, 1},   // long pointwise: GEMM straight on x
      {70, 5, 8, 16, 3, 2, 0, 1, 1, 1},    // batch over two CPU chunks
      {3, 17, 33, 70, 7, 1, 0, 0, 1, 1},   // channels not multiples of 8, several GPU tiles
      {2, 40, 72, 45, 3, 1, 2, 2, 2, 1},   // more channels than one GPU tile
  };
}

// Shapes for the one-hot DNA path (C_in = 4, groups = 1); lengths not multiples of 4 so packed
// rows end in a partial byte.
inline std::vector<kernels::Conv1dShape> conv1d_onehot_sweep_shapes() {
  return {
      {2, 4, 8, 50, 8, 1, 0, 0, 1, 1},     // DeepSEA-like, valid
      {1, 4, 5, 33, 19, 1, 9, 9, 1, 1},    // Basset-like, same padding
      {3, 4, 7, 41, 5, 2, 3, 1, 2, 1},     // stride 2, dilation 2, asymmetric padding
      {2, 4, 3, 10, 26, 1, 13, 12, 1, 1},  // kernel longer than the sequence
      {4, 4, 6, 13, 3, 3, 0, 2, 4, 1},     // stride 3, dilation 4
      {3, 4, 70, 203, 9, 1, 4, 4, 1, 1},   // more output channels than one GPU block
  };
}

// Base codes 0..4 (unknown included, and a few codes above 4, which also mean unknown), or only
// 0..3 when the bases will be packed.
inline std::vector<uint8_t> random_bases(size_t n, uint64_t seed, bool with_unknown) {
  std::mt19937_64 gen(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) {
    const unsigned r = static_cast<unsigned>(gen() % 20);
    b = !with_unknown ? static_cast<uint8_t>(r % 4)
                      : static_cast<uint8_t>(r < 16 ? r % 4 : (r == 19 ? 200 : 4));
  }
  return out;
}

// Largest magnitude of a vector, at least 1e-30: tolerances are relative to the output scale.
template <typename T>
double abs_max(const std::vector<T>& v) {
  double m = 1e-30;
  for (const T& e : v) m = std::max(m, std::abs(static_cast<double>(e)));
  return m;
}

}  // namespace strand::testing
