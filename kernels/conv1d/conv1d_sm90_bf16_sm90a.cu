// The Hopper conv1d kernel with bf16 operands and outputs (fp32 accumulation); one instantiation
// per translation unit keeps each sm_90a compile short.
#include "kernels/conv1d/conv1d_sm90_kernel.cuh"

namespace strand::kernels::cuda::detail::sm90 {

void launch_bf16(const Args& args, cudaStream_t stream) {
  launch<cute::bfloat16_t, cute::bfloat16_t>(args, stream);
}

}  // namespace strand::kernels::cuda::detail::sm90
