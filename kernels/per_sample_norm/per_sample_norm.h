// Per-example squared gradient norms for DP-SGD. For a layer whose weight gradient is
// G = sum_i G_i with G_i = sum_t g_{i,t} (x) a_{i,t} (a: the layer input at position / step t,
// unfolded for a convolution; g: the output gradient there), these kernels return
// ||G_i||_F^2 for every example i without ever writing a G_i to memory, two ways:
//   ghost         sum_{t,s} (a_t . a_s)(g_t . g_s) from the two Gram matrices: ~N T^2 (in + out)
//   materialized  G_i tile by tile, squared and summed in the epilogue:          ~N T in out
// choose_norm_method picks the cheaper from the shapes. Bias norms ||sum_t g_{i,t}||^2 too.
// A convolution has a third way, the input Gram (ghost with the unfolding undone):
//   input_gram    a_t . a_s = sum_k P[t*stride + k*dil - pad, s*stride + k*dil - pad] with
//                 P = X_i^T X_i over channels, formed once: ~N (L_in^2 in_ch + T^2 (K + out)),
//                 K times fewer input multiply-adds than ghost (none for one-hot bases);
// choose_conv_norm_method picks among the three. For dense rows input_gram is ghost (K = 1).
//
// Three kinds of input a:
//   dense   a[i, t, k] at a[i*stride_n + t*stride_t + k*stride_k] (Linear, recurrent weights)
//   conv    x [N, C_in, L_in] unfolded as im2col rows: a[i, t, c*K + k] = x[i, c, t*stride -
//           pad_left + k*dilation], zero in the padding (groups must be 1)
//   bases   u8 base codes [N, L_in] (conv1d_bases): the same unfolding of their one-hot matrix
//           (A, C, G, T = 0..3; unknown = 0.25 in each channel)
// g is always strided: g[i, t, o] at g[i*stride_n + t*stride_t + o*stride_k] (a conv's dy
// [N, C_out, L_out] has stride_t 1, stride_k L_out).
#pragma once

#include <cstdint>

#include "kernels/common/context.h"
#include "kernels/conv1d/conv1d.h"

namespace strand::kernels {

enum class NormMethod : uint8_t { kGhost, kMaterialized, kInputGram };
const char* norm_method_name(NormMethod method);

// A strided [N, T, D] operand.
template <typename T>
struct SampleRows {
  const T* data = nullptr;
  int64_t stride_n = 0, stride_t = 0, stride_k = 1;
};

struct PerSampleShape {
  int64_t batch = 0;      // N
  int64_t positions = 0;  // T
  int64_t in_dim = 0;     // columns of a (C_in * K for a convolution)
  int64_t out_dim = 0;    // columns of g
  void validate() const;  // strand::Error naming a non-positive size
};

// The shape of a convolution's per-example problem: T = L_out, in = C_in * K, out = C_out.
PerSampleShape conv_per_sample_shape(const Conv1dShape& conv);

// Multiply-adds each method needs; the cost model compares these.
double ghost_cost(const PerSampleShape& s);
double materialized_cost(const PerSampleShape& s);
NormMethod choose_norm_method(const PerSampleShape& s);
// The input-Gram method's multiply-adds plus its Gram workspaces' memory traffic (each float
// moved counted as kGramFlopsPerFloat multiply-adds); bases: the input is one-hot base codes.
inline constexpr double kGramFlopsPerFloat = 4.0;
double input_gram_cost(const Conv1dShape& conv, bool bases);
NormMethod choose_conv_norm_method(const Conv1dShape& conv, bool bases);

// Every function writes out[N] (overwrites). CPU: T = float or double; CUDA: float, device
// pointers, enqueued on ctx.stream.
#define STRAND_PER_SAMPLE_NORM_API(ns)                                                             \
  namespace ns {                                                                                   \
  template <typename T>                                                                            \
  void per_sample_norm_dense(const Context& ctx, const PerSampleShape& s, SampleRows<T> a,         \
                             SampleRows<T> g, NormMethod method, T* out);                          \
  template <typename T>                                                                            \
  void per_sample_norm_conv1d(const Context& ctx, const Conv1dShape& conv, const T* x,             \
                              SampleRows<T> g, NormMethod method, T* out);                         \
  template <typename T>                                                                            \
  void per_sample_norm_bases(const Context& ctx, const Conv1dShape& conv, const uint8_t* bases,    \
                             SampleRows<T> g, NormMethod method, T* out);                          \
  /* out[i] = ||sum_t g[i, t, :]||^2 over s.positions steps and s.out_dim columns. */              \
  template <typename T>                                                                            \
  void per_sample_bias_norm(const Context& ctx, const PerSampleShape& s, SampleRows<T> g, T* out); \
  }

STRAND_PER_SAMPLE_NORM_API(cpu)
STRAND_PER_SAMPLE_NORM_API(cuda)
#undef STRAND_PER_SAMPLE_NORM_API

}  // namespace strand::kernels
