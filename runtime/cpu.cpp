// The CPU backend's report and bf16 switch, over kernels/common/onednn.
#include "runtime/cpu.h"

#include "kernels/common/onednn.h"

namespace strand::runtime {

CpuReport cpu_report() {
  const kernels::cpu::CpuKernelInfo k = kernels::cpu::cpu_kernel_info();
  // DeepSEA's second convolution and its first dense layer at batch 64: typical shapes.
  const kernels::Conv1dShape probe{64, 320, 480, 248, 8, 1, 0, 0, 1, 1};
  const std::string no_bf16 = "unavailable (no AVX512-BF16 or AMX)";
  CpuReport r;
  r.isa = k.isa;
  r.onednn = k.onednn;
  r.bf16 = k.bf16;
  r.gemm_fp32 = k.gemm_fp32;
  r.openblas_core = k.openblas_core;
  r.conv_fp32 =
      "oneDNN " + kernels::cpu::onednn_conv1d_impl(probe, kernels::Conv1dPass::kForward, false);
  r.conv_bf16 = k.bf16 ? "oneDNN " + kernels::cpu::onednn_conv1d_impl(
                                         probe, kernels::Conv1dPass::kForward, true)
                       : no_bf16;
  r.gemm_bf16 = k.bf16 ? "oneDNN " + kernels::cpu::onednn_matmul_bf16_impl(64, 925, 1024) : no_bf16;
  return r;
}

bool cpu_bf16_available() {
  static const bool available = kernels::cpu::cpu_kernel_info().bf16;
  return available;
}

void require_cpu_bf16(const char* what) { kernels::cpu::require_cpu_bf16(what); }

void set_cpu_bf16_math(bool enabled) {
  kernels::cpu::set_bf16_math(enabled && cpu_bf16_available());
}

CpuInferenceScope::CpuInferenceScope(bool enabled)
    : scope_(std::make_unique<kernels::cpu::InferenceScope>(enabled)) {}
CpuInferenceScope::~CpuInferenceScope() = default;

}  // namespace strand::runtime
