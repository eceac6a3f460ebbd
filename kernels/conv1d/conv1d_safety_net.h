// conv1d's part of the safety net (kernels/common/safety_net.h): its tolerances and the runners
// (conv1d_safety_net.cu) that check the custom kernel against cuDNN from `auto` (conv1d.cu).
#pragma once

#include <string>

#include "kernels/common/safety_net.h"
#include "kernels/conv1d/conv1d.h"

namespace strand::kernels {

// How far the custom output may be from the library's: the largest absolute difference over the
// largest absolute library value (fp32 1e-4; tf32 and bf16 round their operands: 1e-2, 5e-2).
double safety_tolerance(Conv1dPrecision precision);

namespace cuda {
// Whether conv1d's custom kernel (named `kernel`: the one options.custom makes `custom` run) agrees
// with cuDNN for this pass/shape/precision on ctx.device, checked once on a small input (the shape
// with batch min(N, 2)) through safety_net(). Synchronizes ctx.stream on first use.
// Defined in CUDA builds.
bool conv1d_safety_net_keeps_custom(const Context& ctx, const std::string& kernel, Conv1dPass pass,
                                    const Conv1dShape& shape, Conv1dGpuOptions options);
}  // namespace cuda

}  // namespace strand::kernels
