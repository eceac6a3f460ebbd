// The one-hot DNA first layer without multiplications: for DNA given as base codes, a conv1d with
// C_in = 4 is a gather-sum of weight columns, and its weight gradient a scatter-add.
//
// Encodings of the input bases [N, L_in]:
//   kCodes    one byte per base: A = 0, C = 1, G = 2, T = 3, and 4 for N/unknown. Any code above 4
//             is treated as unknown too (kernels never fail on data).
//   kPacked2  2 bits per base, 4 bases per byte; base i of a row is (byte[i / 4] >> (2 * (i % 4)))
//             & 3, i.e. the first base sits in the two lowest bits. Each row starts on a byte
//             boundary and takes packed_row_bytes(L_in) = ceil(L_in / 4) bytes; unused high bits
//             of a row's last byte are ignored. Packed input cannot say "unknown".
//
// Semantics (equal to the dense conv1d of the one-hot matrix x[n, c, i] = [base == c], with an
// unknown base encoded as 0.25 in each of the four channels):
//   y[n, o, t] = bias[o] + sum_k W'[o, base[n, t*stride + k*dilation - pad_left], k]
// where W'[o, b, k] = W[o, b, k] for b in 0..3, W'[o, unknown, k] = the mean of the four columns,
// and positions in the padding contribute zero. The weight gradient is
//   dW[o, c, k] = sum_{n,t} dy[n, o, t] * x[n, c, t*stride + k*dilation - pad_left].
// The shape must have in_channels == 4 and groups == 1; weights are [C_out, 4, K] as for conv1d.
// The bias gradient is conv1d_backward_bias; there is no data gradient (the input is discrete).
#pragma once

#include <cstdint>

#include "core/bfloat16.h"
#include "kernels/common/context.h"
#include "kernels/conv1d/conv1d.h"

namespace strand::kernels {

inline constexpr uint8_t kBaseA = 0;
inline constexpr uint8_t kBaseC = 1;
inline constexpr uint8_t kBaseG = 2;
inline constexpr uint8_t kBaseT = 3;
inline constexpr uint8_t kBaseUnknown = 4;

enum class BaseEncoding { kCodes, kPacked2 };

inline int64_t packed_row_bytes(int64_t length) { return (length + 3) / 4; }
// Bytes of the whole input: N * L_in for codes, N * ceil(L_in / 4) packed.
int64_t onehot_input_bytes(const Conv1dShape& shape, BaseEncoding encoding);
// Throws unless the shape is valid with in_channels == 4 and groups == 1.
void check_onehot_shape(const Conv1dShape& shape, const char* op);

namespace cpu {

// Packs base codes [rows, length] into 2-bit rows; a code above 3 (unknown) is a strand::Error.
void pack_bases_2bit(const uint8_t* codes, int64_t rows, int64_t length, uint8_t* packed);
// The dense one-hot [N, 4, L_in] of the bases (unknown: 0.25 in each channel).
template <typename T>
void bases_to_onehot(const Conv1dShape& shape, BaseEncoding encoding, const uint8_t* bases, T* x);

// T is float or double; y overwritten, dw overwritten or accumulated; bias may be null.
// kReference is the gather-sum / scatter-add in plain loops; kFast expands to the one-hot matrix
// and runs the dense im2col + GEMM path, which is faster on CPUs (see conv1d_onehot.cpp).
template <typename T>
void conv1d_onehot_forward(const Context& ctx, const Conv1dShape& shape, BaseEncoding encoding,
                           const uint8_t* bases, const T* w, const T* bias, T* y,
                           Conv1dCpuAlgo algo = Conv1dCpuAlgo::kFast);
template <typename T>
void conv1d_onehot_backward_weight(const Context& ctx, const Conv1dShape& shape,
                                   BaseEncoding encoding, const uint8_t* bases, const T* dy, T* dw,
                                   bool accumulate = false,
                                   Conv1dCpuAlgo algo = Conv1dCpuAlgo::kFast);

}  // namespace cpu

namespace cuda {

// Device pointers, enqueued on ctx.stream. T is float or BFloat16 (sums in fp32 either way; no
// tensor cores: there is nothing to multiply). The weight gradient adds fp32 partial sums with
// atomics into a stream-ordered fp32 workspace, so its last bits vary from run to run.
template <typename T>
void conv1d_onehot_forward(const Context& ctx, const Conv1dShape& shape, BaseEncoding encoding,
                           const uint8_t* bases, const T* w, const T* bias, T* y);
template <typename T>
void conv1d_onehot_backward_weight(const Context& ctx, const Conv1dShape& shape,
                                   BaseEncoding encoding, const uint8_t* bases, const T* dy, T* dw,
                                   bool accumulate = false);

}  // namespace cuda

}  // namespace strand::kernels
