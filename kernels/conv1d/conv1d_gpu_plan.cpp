// The host-side half of choosing a CUDA conv1d algorithm: which algorithms may run a shape and
// what `auto` does when one cannot. Plain C++ (built without CUDA too), so CPU tests check every
// branch of the decision that a GPU run would otherwise be the first to take.
#include <climits>

#include "core/error.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"

namespace strand::kernels {

const char* conv1d_sm90_unsupported_reason(Conv1dPass pass, const Conv1dShape& s,
                                           Conv1dPrecision precision) {
  s.validate();
  if (precision == Conv1dPrecision::kFp32) {
    return "the Hopper kernel runs tf32 and bf16 only (fp32 runs 3xTF32 on the portable kernel)";
  }
  if (s.groups != 1) return "the Hopper kernel runs groups = 1 only";
  if (s.stride != 1) return "the Hopper kernel runs stride 1 only";
  // Grid z is the batch (forward form) or taps x splits; indices are 32-bit.
  if (s.batch > 65535) return "the Hopper kernel takes batches up to 65535";
  if (s.x_numel() * 2 > INT32_MAX || s.y_numel() * 2 > INT32_MAX || s.w_numel() * 8 > INT32_MAX) {
    return "the Hopper kernel's 32-bit indices would overflow";
  }
  if (pass == Conv1dPass::kBackwardData && s.pad_left > s.dilation * (s.kernel_size - 1)) {
    return "the Hopper backward-data kernel needs pad_left <= dilation*(K-1)";
  }
  return nullptr;
}

namespace cuda {

bool conv1d_cudnn_supports(const Conv1dShape& shape, std::string* why_not) {
  shape.validate();
  if (shape.pad_left != shape.pad_right) {
    if (why_not) {
      *why_not = format("cuDNN has only symmetric padding (got left {}, right {})", shape.pad_left,
                        shape.pad_right);
    }
    return false;
  }
  return true;
}

namespace detail {

Conv1dGpuAlgo conv1d_gpu_plan(Conv1dPass pass, const Conv1dShape& s, Conv1dGpuAlgo asked,
                              const char* custom_no, const std::string& cudnn_no) {
  const bool custom_ok = custom_no == nullptr, cudnn_ok = cudnn_no.empty();
  switch (asked) {
    case Conv1dGpuAlgo::kCustom:
      STRAND_CHECK(custom_ok, "conv1d {}: custom kernel cannot run {}: {}", to_string(pass),
                   s.to_string(), custom_no ? custom_no : "");
      return Conv1dGpuAlgo::kCustom;
    case Conv1dGpuAlgo::kCudnn:
      STRAND_CHECK(cudnn_ok, "conv1d {}: cuDNN cannot run {}: {}; use algo custom or auto",
                   to_string(pass), s.to_string(), cudnn_no);
      return Conv1dGpuAlgo::kCudnn;
    case Conv1dGpuAlgo::kAuto:
      break;
  }
  STRAND_CHECK(custom_ok || cudnn_ok,
               "conv1d {}: neither algorithm can run {} (custom: {}; cuDNN: {})", to_string(pass),
               s.to_string(), custom_no ? custom_no : "", cudnn_no);
  if (!cudnn_ok) return Conv1dGpuAlgo::kCustom;
  if (!custom_ok) return Conv1dGpuAlgo::kCudnn;
  return Conv1dGpuAlgo::kAuto;
}

Conv1dGpuAlgo conv1d_gpu_pick_timed(float custom_ms, float cudnn_ms) {
  // cudnn_ms < 0: cuDNN reported the shape unsupported at run time; custom always runs then.
  if (cudnn_ms < 0.f) return Conv1dGpuAlgo::kCustom;
  return custom_ms <= cudnn_ms ? Conv1dGpuAlgo::kCustom : Conv1dGpuAlgo::kCudnn;
}

bool cudnn_status_means_unsupported(int status) {
  // cuDNN 9: CUDNN_STATUS_NOT_SUPPORTED (3000) and its shape/pattern/data-type/layout sub-codes
  // (3001-3004) say "not this problem". The rest of the 3000s (driver, runtime, sub-library,
  // architecture) mean a broken installation: those stay errors, never a silent fallback.
  return status >= 3000 && status <= 3004;
}

}  // namespace detail

}  // namespace cuda
}  // namespace strand::kernels
