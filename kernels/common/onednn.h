// The CPU counterpart of cuBLAS/cuDNN: fp32 GEMM and conv1d (forward, backward-data,
// backward-weight) on oneDNN, which picks its kernels for the CPU at run time (SSE4.1 to AVX-512
// and AMX). Debian's OpenBLAS falls back to generic pre-AVX kernels on CPUs it does not know
// (Sapphire Rapids runs its `Prescott` kernels at a fifth of the speed), so fp32 no longer uses it;
// float64 (the reference and gradcheck paths) still does.
//
// bf16 math: inside a Bf16MathScope (layers::AutocastGuard opens one), fp32 convolutions and
// matrix products on the CPU round their inputs to bf16 and accumulate in fp32 (AVX512-BF16 or
// AMX); outputs, weights and gradients stay fp32. Small matrix products, where converting the
// operands costs more than bf16 saves, and convolutions with few input channels (under kAuto)
// stay fp32: chosen by the shape, never by a timing, so runs repeat bit for bit. A CPU without
// either ISA gets a strand::Error.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/conv1d/conv1d.h"
#include "kernels/gemm/gemm.h"

namespace strand::kernels::cpu {

// Row-major C = alpha op(A) op(B) + beta C in fp32, through oneDNN's JIT sgemm.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
// The batched form (GemmShape strides; a zero batch stride shares that operand). Inside a
// Bf16MathScope it runs a bf16 oneDNN matmul on shapes large enough for bf16 to pay (rows and
// columns from 128, depth from 64; chosen by the shape, never timed, see onednn.cpp).
void sgemm_batched(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                   float* c);

// Thread-local bf16 math switch for fp32 convolutions and matrix products (see above).
class Bf16MathScope {
 public:
  explicit Bf16MathScope(bool enabled);
  ~Bf16MathScope();
  Bf16MathScope(const Bf16MathScope&) = delete;
  Bf16MathScope& operator=(const Bf16MathScope&) = delete;

 private:
  bool previous_;
};
bool bf16_math();
void set_bf16_math(bool enabled);

// Under the inference hint (InferenceScope below) oneDNN primitives keep their weights (conv and
// matmul WEIGHTS) converted to the layout and type they want, per source address, and reuse the
// copy while the source's content hash is unchanged: inference converts each weight once. Elsewhere
// (training: weights change every step) every call converts.

// Inside an InferenceScope(true) (this thread; layers::Sequential opens one in eval mode without
// gradient recording) weights are expected to stay unchanged from call to call: they are kept
// converted (still checked by content hash on every call).
class InferenceScope {
 public:
  explicit InferenceScope(bool enabled);
  ~InferenceScope();
  InferenceScope(const InferenceScope&) = delete;
  InferenceScope& operator=(const InferenceScope&) = delete;

 private:
  bool previous_;
};
bool inference_hint();

// Inside an UnchangedWeightsScope (this thread) the caller promises that no weight changes: one
// converted or checked once is then trusted by address (the RNN's per-step products convert or
// hash each weight once per call, in training too).
class UnchangedWeightsScope {
 public:
  UnchangedWeightsScope();
  ~UnchangedWeightsScope();
  UnchangedWeightsScope(const UnchangedWeightsScope&) = delete;
  UnchangedWeightsScope& operator=(const UnchangedWeightsScope&) = delete;

 private:
  uint64_t previous_;
};

// Which fp32 conv1d implementation the fast CPU path runs: kAuto picks oneDNN or strand's
// im2col/shifted-GEMM kernels by the shape alone (never by a timing: results must not depend on
// the machine's load); kOneDnn and kStrand force one. Process-wide; the default comes from
// STRAND_CPU_CONV (auto, onednn, strand).
enum class CpuConvBackend { kAuto, kOneDnn, kStrand };
void set_cpu_conv_backend(CpuConvBackend backend);
CpuConvBackend cpu_conv_backend();
// Forgets the kAuto choices kept per shape.
void clear_cpu_conv_choices();

// oneDNN conv1d on the CPU (fp32 tensors, NCL as in conv1d.h; bf16 inputs when `bf16`). dw is
// overwritten, or added to with `accumulate`. Primitives are cached per (pass, shape, bf16).
void onednn_conv1d_forward(const Conv1dShape& s, const float* x, const float* w, const float* bias,
                           float* y, bool bf16);
void onednn_conv1d_backward_data(const Conv1dShape& s, const float* dy, const float* w, float* dx,
                                 bool bf16);
void onednn_conv1d_backward_weight(const Conv1dShape& s, const float* x, const float* dy, float* dw,
                                   bool accumulate, bool bf16);
// The implementation oneDNN picked for this pass and shape (its impl_info_str, e.g.
// "brg:avx512_core" or "jit:avx512_core_amx_bf16"; "ref" marks the slow reference kernels).
std::string onednn_conv1d_impl(const Conv1dShape& s, Conv1dPass pass, bool bf16);
// The bf16 product itself (oneDNN matmul: operands rounded to bf16, fp32 accumulation and C).
void onednn_matmul_bf16(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                        float* c);
// The implementation of a bf16 matrix product of this size (oneDNN matmul).
std::string onednn_matmul_bf16_impl(int64_t m, int64_t n, int64_t k);

// What the CPU offers and what strand runs on it.
struct CpuKernelInfo {
  std::string isa;            // oneDNN's effective ISA: sse41, avx2, avx512_core, ..._amx
  bool avx2 = false;          // the CPU reports AVX2 (cpuid)
  bool avx512 = false;        // the CPU reports AVX-512F
  bool bf16 = false;          // AVX512-BF16 or AMX-BF16 usable through oneDNN
  std::string onednn;         // oneDNN version
  std::string gemm_fp32;      // kernel family of fp32 GEMM
  std::string openblas_core;  // OpenBLAS's kernel (float64 only), as openblas_get_corename()
};
CpuKernelInfo cpu_kernel_info();
// Throws strand::Error naming the missing ISA when the CPU cannot run bf16 math.
void require_cpu_bf16(const char* what);

}  // namespace strand::kernels::cpu
