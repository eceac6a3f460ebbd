// GpuMath (see gpu_math.h).
#include "layers/gpu_math.h"

#include "core/error.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/rnn.h"

namespace strand::layers {
namespace {

kernels::Conv1dGpuAlgo parse_conv_algo(const std::string& name) {
  if (name == "auto") return kernels::Conv1dGpuAlgo::kAuto;
  if (name == "custom") return kernels::Conv1dGpuAlgo::kCustom;
  if (name == "cudnn") return kernels::Conv1dGpuAlgo::kCudnn;
  STRAND_FAIL("unknown --conv-algo '{}' (auto, custom, cudnn)", name);
}

// The --rnn-algo names, in kernels::RnnAlgo's order of mention there.
const std::pair<const char*, kernels::RnnAlgo> kRnnAlgos[] = {
    {"auto", kernels::RnnAlgo::kAuto},
    {"custom", kernels::RnnAlgo::kCustom},
    {"cluster", kernels::RnnAlgo::kCustomCluster},
    {"persistent", kernels::RnnAlgo::kCustomPersistent},
    {"step-gemm", kernels::RnnAlgo::kCustomStepGemm},
    {"cudnn", kernels::RnnAlgo::kCudnn},
    {"cudnn-persist-static", kernels::RnnAlgo::kCudnnPersistStatic},
    {"cudnn-persist-small-h", kernels::RnnAlgo::kCudnnPersistSmallH}};

kernels::RnnAlgo parse_rnn_algo(const std::string& name) {
  std::string known;
  for (const auto& [n, algo] : kRnnAlgos) {
    if (name == n) return algo;
    known += (known.empty() ? "" : ", ") + std::string(n);
  }
  STRAND_FAIL("unknown --rnn-algo '{}' ({})", name, known);
}

}  // namespace

void check_gpu_math(const GpuMath& math, const std::string& device) {
  parse_conv_algo(math.conv_algo);
  parse_rnn_algo(math.rnn_algo);
  const bool cuda = device.rfind("cuda", 0) == 0;
  STRAND_CHECK(cuda || !math.tf32,
               "--tf32 chooses CUDA arithmetic and this run is on the CPU (--device {}): drop it "
               "or add --device cuda",
               device);
  STRAND_CHECK(cuda || math.conv_algo == "auto",
               "--conv-algo {} chooses a CUDA convolution and this run is on the CPU (--device "
               "{}): drop it or add --device cuda",
               math.conv_algo, device);
  STRAND_CHECK(cuda || math.rnn_algo == "auto",
               "--rnn-algo {} chooses a CUDA recurrence and this run is on the CPU (--device {}): "
               "drop it or add --device cuda",
               math.rnn_algo, device);
}

void set_gpu_math(Module& model, const GpuMath& math) {
  const kernels::Conv1dGpuOptions conv{
      .precision = math.tf32 ? kernels::Conv1dPrecision::kTf32 : kernels::Conv1dPrecision::kFp32,
      .algo = parse_conv_algo(math.conv_algo)};
  const kernels::MathMode mode = math.tf32 ? kernels::MathMode::kTf32 : kernels::MathMode::kExact;
  const kernels::RnnAlgo rnn = parse_rnn_algo(math.rnn_algo);
  for (const auto& [name, module] : model.named_modules()) {
    if (auto* c = dynamic_cast<Conv1d*>(module)) c->set_gpu_options(conv);
    if (auto* l = dynamic_cast<Linear*>(module)) l->set_math_mode(mode);
    if (auto* r = dynamic_cast<Recurrent*>(module)) r->set_algo(rnn);
  }
}

}  // namespace strand::layers
