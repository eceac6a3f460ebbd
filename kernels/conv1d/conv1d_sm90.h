// The Hopper conv1d kernel's launch interface (CUDA only, not a public header): the arguments one
// launch reads, the two instantiations' launchers (conv1d_sm90_{bf16,tf32}_sm90a.cu, compiled for
// sm_90a alone) and the pass functions built on them (conv1d_sm90.cu).
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_sm90_plan.h"

namespace strand::kernels::cuda::detail {
namespace sm90 {

// What the kernel reads besides the maps (plain data; the pass functions fill it).
struct Args {
  CUtensorMap map_a;
  CUtensorMap map_b;
  Geom g;
  const void* bias = nullptr;  // output-typed [m] or null (forward form)
  void* out = nullptr;         // forward form: [batch][m][pooled_length]; else float ws
  float* bn_sum = nullptr;     // forward form: per-channel sums of conv + bias, or null
  float* bn_sumsq = nullptr;
  int relu = 0;
};

// Launch on `stream` (grid_of(args.g)); bf16 operands write bf16, tf32 operands fp32.
void launch_bf16(const Args& args, cudaStream_t stream);
void launch_tf32(const Args& args, cudaStream_t stream);

}  // namespace sm90

// The three passes on the Hopper kernel. The caller has checked sm90_usable(). T is float (tf32)
// or BFloat16. Internal copies (channels-last input, tap-major weights, the fp32 weight-gradient
// workspace) live in stream-ordered scratch.
template <typename T>
void sm90_forward(const Context& ctx, const Conv1dShape& s, const T* x, const T* w, const T* bias,
                  T* y, const Conv1dEpilogue& epilogue);
template <typename T>
void sm90_backward_data(const Context& ctx, const Conv1dShape& s, const T* dy, const T* w, T* dx);
template <typename T>
void sm90_backward_weight(const Context& ctx, const Conv1dShape& s, const T* x, const T* dy, T* dw,
                          bool accumulate);
// Whether ctx.device has compute capability exactly 9.0 (the only one the sm_90a code runs on).
bool sm90_device(const Context& ctx);

}  // namespace strand::kernels::cuda::detail
