// GpuMath (see gpu_math.h).
#include "layers/gpu_math.h"

#include "core/error.h"
#include "layers/conv.h"
#include "layers/linear.h"

namespace strand::layers {
namespace {

kernels::Conv1dGpuAlgo parse_conv_algo(const std::string& name) {
  if (name == "auto") return kernels::Conv1dGpuAlgo::kAuto;
  if (name == "custom") return kernels::Conv1dGpuAlgo::kCustom;
  if (name == "cudnn") return kernels::Conv1dGpuAlgo::kCudnn;
  STRAND_FAIL("unknown --conv-algo '{}' (auto, custom, cudnn)", name);
}

}  // namespace

void check_gpu_math(const GpuMath& math, const std::string& device) {
  parse_conv_algo(math.conv_algo);
  const bool cuda = device.rfind("cuda", 0) == 0;
  STRAND_CHECK(cuda || !math.tf32,
               "--tf32 chooses CUDA arithmetic and this run is on the CPU (--device {}): drop it "
               "or add --device cuda",
               device);
  STRAND_CHECK(cuda || math.conv_algo == "auto",
               "--conv-algo {} chooses a CUDA convolution and this run is on the CPU (--device "
               "{}): drop it or add --device cuda",
               math.conv_algo, device);
}

void set_gpu_math(Module& model, const GpuMath& math) {
  const kernels::Conv1dGpuOptions conv{
      .precision = math.tf32 ? kernels::Conv1dPrecision::kTf32 : kernels::Conv1dPrecision::kFp32,
      .algo = parse_conv_algo(math.conv_algo)};
  const kernels::MathMode mode = math.tf32 ? kernels::MathMode::kTf32 : kernels::MathMode::kExact;
  for (const auto& [name, module] : model.named_modules()) {
    if (auto* c = dynamic_cast<Conv1d*>(module)) c->set_gpu_options(conv);
    if (auto* l = dynamic_cast<Linear*>(module)) l->set_math_mode(mode);
  }
}

}  // namespace strand::layers
