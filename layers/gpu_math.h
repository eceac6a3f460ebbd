// CUDA arithmetic for a whole model, the CLI's --conv-algo, --rnn-algo and --tf32: which conv1d
// algorithm runs (auto: custom and cuDNN timed per shape on first use, the faster kept; custom:
// strand's implicit GEMM; cudnn), which LSTM/GRU implementation runs (kernels::RnnAlgo: auto,
// custom, cluster, persistent, step-gemm, cudnn, cudnn-persist-static, cudnn-persist-small-h),
// and whether fp32 convolutions and matrix products may round their inputs to TF32 on tensor
// cores (~1e-3 relative instead of fp32's ~1e-6). bf16 models follow their dtype. The CPU has
// none of these choices, so asking for one on a CPU run is an error, not a no-op.
#pragma once

#include <string>

#include "layers/module.h"

namespace strand::layers {

struct GpuMath {
  std::string conv_algo = "auto";  // auto, custom or cudnn
  bool tf32 = false;
  std::string rnn_algo = "auto";  // see above
};

// A known algorithm, and a CUDA device ("cuda", "cuda:N") unless both are the defaults.
void check_gpu_math(const GpuMath& math, const std::string& device);
// Sets every Conv1d's algorithm and precision, every Linear's math mode and every LSTM/GRU's
// implementation in model.
void set_gpu_math(Module& model, const GpuMath& math);

}  // namespace strand::layers
