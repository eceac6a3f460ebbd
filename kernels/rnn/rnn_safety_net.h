// The RNN's part of the safety net (kernels/common/safety_net.h): the check `auto` runs before it
// first uses a custom recurrence for a shape (rnn.cu), defined in rnn_safety_net.cu.
#pragma once

#include "kernels/common/context.h"
#include "kernels/rnn/rnn.h"

namespace strand::kernels::cuda {

// Whether the custom recurrence `custom` (kCustomCluster, kCustomPersistent or kCustomStepGemm)
// agrees with cuDNN for this shape in f32 on ctx.device: both run once on a small input (batch
// min(N, 2), the same T, sizes, layers and directions, fixed-seed weights and input), the forward
// output and the backward's d_input compared through safety_net(). The first verdict per (device,
// shape, kernel) stands for the process, so the reserve sized for a call matches the path that
// runs it. Synchronizes ctx.stream on first use.
bool rnn_safety_net_keeps_custom(const Context& ctx, const RnnShape& shape, RnnAlgo custom);

}  // namespace strand::kernels::cuda
