// The CPU backend as the layers above runtime see it: what the CPU offers, which kernels strand
// runs on it (for `strand info`), and the bf16 math switch behind autocast.
#pragma once

#include <memory>
#include <string>

namespace strand::kernels::cpu {
class InferenceScope;
}  // namespace strand::kernels::cpu

namespace strand::runtime {

struct CpuReport {
  std::string isa;            // oneDNN's effective ISA: sse41, avx2, avx512_core, ..._amx
  std::string onednn;         // oneDNN version
  bool bf16 = false;          // AVX512-BF16 or AMX-BF16 usable
  std::string gemm_fp32;      // kernel family of fp32 GEMM
  std::string gemm_bf16;      // oneDNN's bf16 matmul implementation, or why there is none
  std::string conv_fp32;      // oneDNN's conv1d implementation on a typical layer
  std::string conv_bf16;      // the same in bf16, or why there is none
  std::string openblas_core;  // OpenBLAS's kernel (float64 only), as openblas_get_corename()
};
// Probes the kernels oneDNN picks on DeepSEA's second convolution and its first dense layer.
CpuReport cpu_report();

// Whether this CPU runs bf16 math (cached).
bool cpu_bf16_available();
// Throws strand::Error naming the missing ISA when the CPU cannot run bf16 math.
void require_cpu_bf16(const char* what);
// The thread-local switch that makes fp32 convolutions and matrix products on the CPU round their
// inputs to bf16 (fp32 accumulation); ignored, staying fp32, on a CPU without bf16 instructions.
void set_cpu_bf16_math(bool enabled);

// Marks CPU inference on this thread for a scope (eval mode, no gradient recording): oneDNN keeps
// each weight converted to its layout from call to call while its content hash is unchanged
// (kernels/common/onednn.h).
class CpuInferenceScope {
 public:
  explicit CpuInferenceScope(bool enabled);
  ~CpuInferenceScope();
  CpuInferenceScope(const CpuInferenceScope&) = delete;
  CpuInferenceScope& operator=(const CpuInferenceScope&) = delete;

 private:
  std::unique_ptr<kernels::cpu::InferenceScope> scope_;
};

}  // namespace strand::runtime
