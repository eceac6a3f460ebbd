// The Hopper conv1d kernel with tf32 operands (fp32 tensors; the tensor cores read their top 19
// bits) and fp32 outputs; one instantiation per translation unit keeps each sm_90a compile short.
#include "kernels/conv1d/conv1d_sm90_kernel.cuh"

namespace strand::kernels::cuda::detail::sm90 {

void launch_tf32(const Args& args, cudaStream_t stream) {
  launch<cute::tfloat32_t, float>(args, stream);
}

}  // namespace strand::kernels::cuda::detail::sm90
