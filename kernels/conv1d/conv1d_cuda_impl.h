// Internal pieces of the CUDA conv1d family shared by its .cu files: the custom implicit-GEMM and
// cuDNN implementations behind cuda::conv1d_* (conv1d.cu picks between them), and small
// helper kernels. Not a public header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_onehot_pool.h"

namespace strand::kernels::cuda::detail {

// Custom tensor-core implicit GEMM (conv1d_implicit_gemm.cu). T is float or BFloat16; precision
// kFp32 runs 3xTF32, kTf32 plain TF32, BFloat16 tensors bf16. No device im2col buffer; the weight
// gradient uses an fp32 split-K workspace of C_out*C_in/groups*K floats.
template <typename T>
void igemm_forward(const Context& ctx, const Conv1dShape& s, const T* x, const T* w, const T* bias,
                   T* y, Conv1dPrecision precision);
template <typename T>
void igemm_backward_data(const Context& ctx, const Conv1dShape& s, const T* dy, const T* w, T* dx,
                         Conv1dPrecision precision);
template <typename T>
void igemm_backward_weight(const Context& ctx, const Conv1dShape& s, const T* x, const T* dy, T* dw,
                           bool accumulate, Conv1dPrecision precision);
// Why the custom kernel cannot run a shape (grid limits), or nullptr when it can.
const char* igemm_unsupported_reason(const Conv1dShape& s);

// The custom kernel run on the host for float, one simulated thread at a time: its own operand
// gathers, shared-tile placement, split-K ranges, mma operand reads (executed per the PTX ISA
// fragment layouts of m16n8k8 TF32, or of m16n8k16 BF16 when bf16_fragments) and epilogue
// coordinates, in plain fp32 arithmetic. CPU tests check every index the kernel computes with it.
// sm_count steers the split-K choice as the device's SM count does.
void igemm_emulate_forward(const Conv1dShape& s, const float* x, const float* w, const float* bias,
                           float* y, bool bf16_fragments);
void igemm_emulate_backward_data(const Conv1dShape& s, const float* dy, const float* w, float* dx,
                                 bool bf16_fragments);
void igemm_emulate_backward_weight(const Conv1dShape& s, const float* x, const float* dy, float* dw,
                                   bool accumulate, int sm_count, bool bf16_fragments);
// How many k-splits the weight-gradient kernel uses on a device with sm_count SMs.
int igemm_weight_splits(const Conv1dShape& s, int sm_count);

// The Hopper kernel (conv1d_sm90*) run on the host for float (conv1d_sm90_emulate.cpp): its
// internal layouts, TMA maps and boxes with zero fill, pipeline order (a model of its mbarriers)
// and epilogue items, from the same conv1d_sm90_plan.h the kernel uses; elem_bytes 2 (bf16) or 4
// (tf32) picks the K tile and channel padding. bn sums (host) are added to; dw is overwritten.
// sm_count steers the weight gradient's reduction splits as the device's SM count does.
void sm90_emulate_forward(const Conv1dShape& s, const float* x, const float* w, const float* bias,
                          float* y, const Conv1dEpilogue& epilogue, int elem_bytes);
void sm90_emulate_backward_data(const Conv1dShape& s, const float* dy, const float* w, float* dx,
                                int elem_bytes);
void sm90_emulate_backward_weight(const Conv1dShape& s, const float* x, const float* dy, float* dw,
                                  int elem_bytes, int sm_count);

// The one-hot kernels run on the host for float (conv1d_onehot.cu): their own per-thread code over
// the launch grid, with the block reductions done serially. For CPU tests.
void onehot_emulate_forward(const Conv1dShape& s, BaseEncoding encoding, const uint8_t* bases,
                            const float* w, const float* bias, float* y);
void onehot_emulate_relu_maxpool(const Conv1dShape& s, const OnehotPool& pool,
                                 BaseEncoding encoding, const uint8_t* bases, const float* w,
                                 const float* bias, float* y);
void onehot_emulate_backward_weight(const Conv1dShape& s, BaseEncoding encoding,
                                    const uint8_t* bases, const float* dy, float* dw,
                                    bool accumulate);

// The host-side decision behind every CUDA conv1d call (conv1d_gpu_plan.cpp, no CUDA needed, so
// CPU tests cover it): the algorithm that must run given what each can do (custom_no: why the
// custom kernel cannot, or nullptr; cudnn_no: why cuDNN cannot, or empty), or kAuto when both can
// and timing decides. A forced algorithm that cannot run, or a shape neither can run, is an Error.
// cuDNN may still refuse a shape/precision only when it runs (bf16 depthwise, dilated or K = 1
// shapes are the known risks): see CudnnUnsupported.
Conv1dGpuAlgo conv1d_gpu_plan(Conv1dPass pass, const Conv1dShape& shape, Conv1dGpuAlgo asked,
                              const char* custom_no, const std::string& cudnn_no);
// `auto` after timing both: the faster, custom on a tie; cudnn_ms < 0 means cuDNN refused the
// shape at run time, so custom.
Conv1dGpuAlgo conv1d_gpu_pick_timed(float custom_ms, float cudnn_ms);
// Whether a cuDNN status code means "this problem is not supported" (fall back) rather than a
// failure (report).
bool cudnn_status_means_unsupported(int status);

// cuDNN refused a problem (no algorithm, or a NOT_SUPPORTED status for the shape, data type or
// layout). Thrown by the cudnn_* functions; conv1d's `auto` falls back to the custom kernel on it,
// a forced cuDNN call lets it through as the error it is.
class CudnnUnsupported : public Error {
 public:
  using Error::Error;
};

// cuDNN legacy convolution API on an H = 1 image (conv1d_cudnn.cu).
template <typename T>
void cudnn_forward(const Context& ctx, const Conv1dShape& s, const T* x, const T* w, const T* bias,
                   T* y, Conv1dPrecision precision);
template <typename T>
void cudnn_backward_data(const Context& ctx, const Conv1dShape& s, const T* dy, const T* w, T* dx,
                         Conv1dPrecision precision);
template <typename T>
void cudnn_backward_weight(const Context& ctx, const Conv1dShape& s, const T* x, const T* dy, T* dw,
                           bool accumulate, Conv1dPrecision precision);

// Helpers (conv1d.cu): y[n, o, t] += bias[o]; dw = (accumulate ? dw : 0) + ws.
template <typename T>
void add_bias(const Context& ctx, const Conv1dShape& s, const T* bias, T* y);
// conv1d_forward_fused's epilogue as a separate pass over a finished conv output conv.
template <typename T>
void apply_epilogue(const Context& ctx, const Conv1dShape& s, const T* conv, T* y,
                    const Conv1dEpilogue& epilogue);
template <typename T>
void finalize_weight_grad(const Context& ctx, const float* ws, T* dw, int64_t count,
                          bool accumulate);

// A stream-ordered device allocation (cudaMallocAsync / cudaFreeAsync on ctx.stream).
class StreamBuffer {
 public:
  StreamBuffer(const Context& ctx, size_t bytes);
  ~StreamBuffer();
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;
  void* get() const { return ptr_; }
  void zero();  // cudaMemsetAsync on the stream

 private:
  Context ctx_;
  size_t bytes_;
  void* ptr_ = nullptr;
};

}  // namespace strand::kernels::cuda::detail

#ifdef __CUDACC__
#include <cuda_bf16.h>

#include <type_traits>

namespace strand::kernels::cuda::detail {
// strand::BFloat16 has the bits of __nv_bfloat16: the .cu files compute on CUDA's type.
template <typename T>
using DeviceType = std::conditional_t<std::is_same_v<T, BFloat16>, __nv_bfloat16, T>;
template <typename T>
const DeviceType<T>* device_ptr(const T* p) {
  return reinterpret_cast<const DeviceType<T>*>(p);
}
template <typename T>
DeviceType<T>* device_ptr(T* p) {
  return reinterpret_cast<DeviceType<T>*>(p);
}
}  // namespace strand::kernels::cuda::detail
#endif
