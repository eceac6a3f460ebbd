// The CUDA per-sample norm kernels (per_sample_norm.cu) run on the host, float only: their own
// operand index maps (dense rows, a convolution's im2col, one-hot base codes), tile loads and
// accumulations, block by block and thread by thread, with the block reduction done serially. CPU
// tests compare them with the CPU implementation, so a wrong index is found without a GPU. For
// NormMethod::kInputGram the conv and bases emulations run the tensor-core Gram kernels'
// emulation (per_sample_norm_gram.h: tile loads, mma operand reads per the PTX fragment layouts,
// symmetric tiles and mirrors, the combine).
// Defined only in CUDA builds.
#pragma once

#include <cstdint>

#include "kernels/conv1d/conv1d.h"
#include "kernels/per_sample_norm/per_sample_norm.h"

namespace strand::kernels::cuda::detail {

void per_sample_norm_emulate_dense(const PerSampleShape& s, SampleRows<float> a,
                                   SampleRows<float> g, NormMethod method, float* out);
void per_sample_norm_emulate_conv1d(const Conv1dShape& conv, const float* x, SampleRows<float> g,
                                    NormMethod method, float* out);
void per_sample_norm_emulate_bases(const Conv1dShape& conv, const uint8_t* bases,
                                   SampleRows<float> g, NormMethod method, float* out);
void per_sample_bias_norm_emulate(const PerSampleShape& s, SampleRows<float> g, float* out);

}  // namespace strand::kernels::cuda::detail
