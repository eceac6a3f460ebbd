// Matrix products, row-major: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b] for a batch of
// equally strided matrices. CPU through OpenBLAS (bf16 via float), CUDA through cuBLAS.
#pragma once

#include <cstdint>

#include "kernels/common/context.h"

namespace strand::kernels {

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;            // C is m x n, op(A) m x k, op(B) k x n
  bool trans_a = false, trans_b = false;  // op(X) = X^T when set
  int64_t lda = 0, ldb = 0, ldc = 0;      // row strides (elements) of A, B, C as stored
  int64_t batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // between batch entries (0: shared)
};

// Fills in leading dimensions and batch strides for densely packed operands.
GemmShape dense_gemm(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
                     int64_t batch = 1);

// fp32 products may use TF32 tensor cores on CUDA when allowed (CPU ignores the mode).
enum class MathMode : int { kExact, kTf32 };

#define STRAND_GEMM_API(ns)                                                               \
  namespace ns {                                                                          \
  template <typename T>                                                                   \
  void gemm(const Context& ctx, const GemmShape& s, double alpha, const T* a, const T* b, \
            double beta, T* c, MathMode mode = MathMode::kExact);                         \
  }

STRAND_GEMM_API(cpu)
STRAND_GEMM_API(cuda)
#undef STRAND_GEMM_API

}  // namespace strand::kernels
