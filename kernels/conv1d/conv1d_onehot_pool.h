// The one-hot DNA first layer fused with what follows it in DeepSEA, Basset and DanQ: conv1d of
// the bases (conv1d_onehot.h) + bias, ReLU and max pooling, with only the pooled output written
// (the conv output never reaches memory). Pooling has no padding.
#pragma once

#include <cstdint>

#include "kernels/conv1d/conv1d_onehot.h"

namespace strand::kernels {

// Max pooling fused after the one-hot conv and a ReLU (no padding): pooled output j of a channel
// is max(0, max over q < size of y[j * stride + q]), for j < (L_out - size) / stride + 1.
struct OnehotPool {
  int64_t size = 1;
  int64_t stride = 1;
};
// Checks the shape and the pool (positive, size <= L_out); returns the pooled length.
int64_t check_onehot_pool(const Conv1dShape& shape, const OnehotPool& pool, const char* op);

namespace cpu {

// The conv (algo: plain loops or expand-then-GEMM, as conv1d_onehot_forward), then ReLU and max
// pooling; y is [N, C_out, pooled length].
template <typename T>
void conv1d_onehot_relu_maxpool(const Context& ctx, const Conv1dShape& shape,
                                const OnehotPool& pool, BaseEncoding encoding, const uint8_t* bases,
                                const T* w, const T* bias, T* y,
                                Conv1dCpuAlgo algo = Conv1dCpuAlgo::kFast);

}  // namespace cpu

namespace cuda {

// Conv + bias + ReLU + max pool in one kernel: only the pooled output is written. Y is T, or
// BFloat16 with float weights (the bf16 store for a bf16 layer after an fp32 first layer).
template <typename T, typename Y = T>
void conv1d_onehot_relu_maxpool(const Context& ctx, const Conv1dShape& shape,
                                const OnehotPool& pool, BaseEncoding encoding, const uint8_t* bases,
                                const T* w, const T* bias, Y* y);

}  // namespace cuda

}  // namespace strand::kernels
