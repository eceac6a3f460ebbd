// The sweep of conv1d shapes every conv1d test compares implementations over: odd lengths,
// stride > 1, dilation > 1, groups and depthwise, asymmetric and "same" padding, N = 1, channel
// counts that are not multiples of 8, and batches that span several CPU GEMM chunks.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/conv1d.h"

namespace strand::testing {

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

// Largest magnitude of a vector, at least 1e-30: tolerances are relative to the output scale.
template <typename T>
double abs_max(const std::vector<T>& v) {
  double m = 1e-30;
  for (const T& e : v) m = std::max(m, std::abs(static_cast<double>(e)));
  return m;
}

}  // namespace strand::testing
