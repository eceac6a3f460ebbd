// CUDA GEMM through cuBLAS. cuBLAS is column-major, so the row-major product C = op(A) op(B) is
// computed as C^T = op(B)^T op(A)^T, which swaps the operands and needs no data movement.

#include "core/bfloat16.h"
#include "kernels/common/cublas_handle.h"
#include "kernels/common/cuda_check.h"
#include "kernels/common/type_lists.h"
#include "kernels/gemm/gemm.h"

namespace strand::kernels::cuda {
namespace {

template <typename T>
struct CublasType;
template <>
struct CublasType<float> {
  static constexpr cudaDataType_t value = CUDA_R_32F;
};
template <>
struct CublasType<double> {
  static constexpr cudaDataType_t value = CUDA_R_64F;
};
template <>
struct CublasType<BFloat16> {
  static constexpr cudaDataType_t value = CUDA_R_16BF;
};

template <typename T>
cublasComputeType_t compute_type(MathMode mode) {
  if constexpr (std::is_same_v<T, double>) return CUBLAS_COMPUTE_64F;
  if constexpr (std::is_same_v<T, float>) {
    return mode == MathMode::kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  }
  return CUBLAS_COMPUTE_32F;  // bf16 inputs, fp32 accumulation
}

}  // namespace

template <typename T>
void gemm(const Context& ctx, const GemmShape& s, double alpha, const T* a, const T* b, double beta,
          T* c, MathMode mode) {
  STRAND_CHECK(s.m >= 0 && s.n >= 0 && s.k >= 0 && s.batch >= 0,
               "gemm: negative size (m {}, n {}, k {}, batch {})", s.m, s.n, s.k, s.batch);
  if (s.m == 0 || s.n == 0 || s.batch == 0) return;
  cublasHandle_t handle = cublas_handle(ctx);
  // Scalars in the compute type: double for f64, float otherwise.
  using Scalar = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const Scalar alpha_s = static_cast<Scalar>(alpha), beta_s = static_cast<Scalar>(beta);
  const cudaDataType_t type = CublasType<T>::value;
  STRAND_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      handle, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, s.n,
      s.m, s.k, &alpha_s, b, type, s.ldb, s.stride_b, a, type, s.lda, s.stride_a, &beta_s, c, type,
      s.ldc, s.stride_c, s.batch, compute_type<T>(mode), CUBLAS_GEMM_DEFAULT));
}

#define INSTANTIATE(T)                                                                            \
  template void gemm<T>(const Context&, const GemmShape&, double, const T*, const T*, double, T*, \
                        MathMode);
STRAND_FLOATING_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cuda
