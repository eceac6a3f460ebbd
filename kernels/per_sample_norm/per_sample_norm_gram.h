// The input-Gram form of a convolution's per-example norm on CUDA (per_sample_norm_gram.cu), used
// by per_sample_norm_conv1d / _bases for NormMethod::kInputGram. Internal to the family.
//   ||G_n||^2 = sum_{t,s} (g_t . g_s)(a_t . a_s), and for the unfolded input
//   a_t . a_s = sum_k P_n[t*stride + k*dil - pad, s*stride + k*dil - pad] with P_n = X_n^T X_n
//   (the [L_in, L_in] Gram of the example's input over channels; zero in the padding),
// so the input Gram is formed once (L_in^2 C_in multiply-adds instead of T^2 C_in K). Both Gram
// matrices come from a tensor-core kernel (mma.sync m16n8k8 TF32, three products per step, so
// fp32-accurate: a clipping bound must not be underestimated); one-hot bases need no input Gram
// (P is 1 for equal known bases, 0 for different ones, 1/4 with an unknown base).
#pragma once

#include <cstdint>

#include "kernels/common/context.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/per_sample_norm/per_sample_norm.h"

namespace strand::kernels::cuda::detail {

// out[n] = ||G_n||^2; exactly one of x (dense input) and bases is non-null. Device pointers.
void input_gram_norm(const Context& ctx, const Conv1dShape& conv, const float* x,
                     const uint8_t* bases, SampleRows<float> g, float* out);

// The same on the host: the kernels' own tile loads, mma operand reads (placed per the PTX
// fragment layouts), symmetric tile skipping and mirroring, and the combine, block by block, in
// fp32 without TF32 rounding. Shared tiles and the Gram workspaces start as NaN.
void input_gram_norm_emulate(const Conv1dShape& conv, const float* x, const uint8_t* bases,
                             SampleRows<float> g, float* out);

}  // namespace strand::kernels::cuda::detail
