// Conv1d kernels: the shape struct, the CPU reference and fast (im2col + OpenBLAS) paths, and the
// CUDA paths (custom tensor-core implicit GEMM and cuDNN behind one interface with an `auto` pick).
//
// Layouts follow PyTorch: x [N, C_in, L_in], w [C_out, C_in/groups, K], bias [C_out],
// y [N, C_out, L_out], all contiguous (NCL). Output position t reads input positions
// t*stride + k*dilation - pad_left for k = 0..K-1; positions outside [0, L_in) are zero padding.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "core/bfloat16.h"
#include "kernels/common/context.h"

namespace strand::kernels {

struct Conv1dShape {
  int64_t batch = 1;         // N
  int64_t in_channels = 1;   // C_in
  int64_t out_channels = 1;  // C_out
  int64_t in_length = 1;     // L_in
  int64_t kernel_size = 1;   // K
  int64_t stride = 1;
  int64_t pad_left = 0;
  int64_t pad_right = 0;
  int64_t dilation = 1;
  int64_t groups = 1;  // groups == C_in == C_out is depthwise

  // Throws strand::Error naming the bad field: non-positive sizes, negative padding, channel
  // counts not divisible by groups, a (dilated) kernel longer than the padded input, or sizes
  // whose products overflow the 32-bit indices the CUDA kernels use.
  void validate() const;
  // floor((L_in + pad_left + pad_right - dilation*(K-1) - 1) / stride) + 1; validates first.
  int64_t out_length() const;

  int64_t in_per_group() const { return in_channels / groups; }
  int64_t out_per_group() const { return out_channels / groups; }
  int64_t x_numel() const { return batch * in_channels * in_length; }
  int64_t w_numel() const { return out_channels * in_per_group() * kernel_size; }
  int64_t y_numel() const { return batch * out_channels * out_length(); }
  // Multiply-adds times two for one pass (forward, backward-data and backward-weight cost the
  // same).
  double flops() const;
  std::string to_string() const;

  auto operator<=>(const Conv1dShape&) const = default;
};

// PyTorch's padding="same" for stride 1: total dilation*(K-1), the odd one on the right.
Conv1dShape with_same_padding(Conv1dShape shape);

// Which CPU implementation runs: the plain-loop reference or the fast im2col + GEMM path.
enum class Conv1dCpuAlgo { kFast, kReference };

// CUDA arithmetic: kFp32 (fp32 tensors, fp32-accurate: the custom kernel uses 3xTF32 tensor-core
// products, cuDNN its FMA kernels), kTf32 (fp32 tensors, TF32 tensor cores), kBf16 (BFloat16
// tensors, bf16 tensor cores, fp32 accumulation).
enum class Conv1dPrecision { kFp32, kTf32, kBf16 };
// kAuto times custom and cuDNN per (pass, shape, precision) on first use and caches the faster.
enum class Conv1dGpuAlgo { kAuto, kCustom, kCudnn };
enum class Conv1dPass { kForward, kBackwardData, kBackwardWeight };

// Which custom kernel `custom` (and `auto`'s custom side) runs: kBest is the Hopper TMA + wgmma
// kernel (conv1d_sm90*) on compute capability 9.0 for shapes it takes (stride 1, groups 1,
// precision tf32 or bf16; see conv1d_sm90_unsupported_reason), the portable implicit GEMM
// elsewhere; kPortable and kSm90 force one (kSm90 where it cannot run is an Error). For tests
// and benchmarks.
enum class Conv1dCustomKernel { kBest, kPortable, kSm90 };

struct Conv1dGpuOptions {
  Conv1dPrecision precision = Conv1dPrecision::kFp32;
  Conv1dGpuAlgo algo = Conv1dGpuAlgo::kAuto;
  Conv1dCustomKernel custom = Conv1dCustomKernel::kBest;
};

// What the forward pass does after the convolution, fused into the Hopper kernel's epilogue
// (cuDNN has no such fusion; other kernels run it as a second pass): batch-norm statistics of
// conv + bias (per-channel sum and sum of squares, fp32, added into bn_sum / bn_sumsq, device
// [C_out] that the caller zeroes), then ReLU, then max pooling with window = stride = pool (floor:
// y is [N, C_out, L_out / pool]).
struct Conv1dEpilogue {
  bool relu = false;
  int64_t pool = 1;
  float* bn_sum = nullptr;  // both or neither
  float* bn_sumsq = nullptr;
};

const char* to_string(Conv1dPrecision p);
const char* to_string(Conv1dGpuAlgo a);
const char* to_string(Conv1dPass p);

// Why the Hopper kernel cannot run a pass/shape/precision, or nullptr when it can (plain C++,
// conv1d_gpu_plan.cpp; the device check is separate).
const char* conv1d_sm90_unsupported_reason(Conv1dPass pass, const Conv1dShape& shape,
                                           Conv1dPrecision precision);

namespace cpu {

// T is float or double. y, dx are overwritten. dw, db are overwritten, or added to when
// `accumulate` is true. bias may be null (no bias). ctx is unused on the CPU.
template <typename T>
void conv1d_forward(const Context& ctx, const Conv1dShape& shape, const T* x, const T* w,
                    const T* bias, T* y, Conv1dCpuAlgo algo = Conv1dCpuAlgo::kFast);
template <typename T>
void conv1d_backward_data(const Context& ctx, const Conv1dShape& shape, const T* dy, const T* w,
                          T* dx, Conv1dCpuAlgo algo = Conv1dCpuAlgo::kFast);
template <typename T>
void conv1d_backward_weight(const Context& ctx, const Conv1dShape& shape, const T* x, const T* dy,
                            T* dw, bool accumulate = false,
                            Conv1dCpuAlgo algo = Conv1dCpuAlgo::kFast);
template <typename T>
void conv1d_backward_bias(const Context& ctx, const Conv1dShape& shape, const T* dy, T* db,
                          bool accumulate = false);

// The forward epilogue applied to a finished conv output conv [N, C_out, L_out] (with bias):
// y [N, C_out, L_out / pool] and, when given, host bn_sum / bn_sumsq added to. The reference for
// cuda::conv1d_forward_fused.
template <typename T>
void conv1d_epilogue(const Context& ctx, const Conv1dShape& shape, const T* conv, T* y,
                     const Conv1dEpilogue& epilogue);

}  // namespace cpu

namespace cuda {

// Device pointers, enqueued on ctx.stream (asynchronous, except the first kAuto call per shape,
// which times both algorithms and synchronizes the stream). T is float (precision kFp32 or kTf32)
// or BFloat16 (precision kBf16); a mismatch is a strand::Error. Overwrite/accumulate rules as on
// the CPU. Bias gradients are a custom reduction for every algo.
template <typename T>
void conv1d_forward(const Context& ctx, const Conv1dShape& shape, const T* x, const T* w,
                    const T* bias, T* y, Conv1dGpuOptions options = {});
// conv1d_forward followed by `epilogue` (bn_sum/bn_sumsq on the device). The Hopper kernel fuses
// it when `custom` or `auto` may use that kernel (algo not kCudnn, options.custom not kPortable,
// the device and shape eligible); otherwise the convolution runs as conv1d_forward would, then
// one separate pass over its output.
template <typename T>
void conv1d_forward_fused(const Context& ctx, const Conv1dShape& shape, const T* x, const T* w,
                          const T* bias, T* y, const Conv1dEpilogue& epilogue,
                          Conv1dGpuOptions options = {});
template <typename T>
void conv1d_backward_data(const Context& ctx, const Conv1dShape& shape, const T* dy, const T* w,
                          T* dx, Conv1dGpuOptions options = {});
template <typename T>
void conv1d_backward_weight(const Context& ctx, const Conv1dShape& shape, const T* x, const T* dy,
                            T* dw, bool accumulate = false, Conv1dGpuOptions options = {});
template <typename T>
void conv1d_backward_bias(const Context& ctx, const Conv1dShape& shape, const T* dy, T* db,
                          bool accumulate = false);

// What kAuto chose for this pass/shape/precision on device ctx.device (kAuto when not yet timed).
Conv1dGpuAlgo conv1d_auto_choice(const Context& ctx, Conv1dPass pass, const Conv1dShape& shape,
                                 Conv1dPrecision precision);
// Forgets every cached kAuto choice (benchmarks re-time with it).
void conv1d_clear_auto_cache();
// Whether cuDNN can run this shape (it has only symmetric padding); the reason when it cannot.
bool conv1d_cudnn_supports(const Conv1dShape& shape, std::string* why_not = nullptr);

}  // namespace cuda

}  // namespace strand::kernels
