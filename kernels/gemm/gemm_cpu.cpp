// CPU GEMM: fp32 through oneDNN (kernels/common/onednn.h: JIT sgemm, or a bf16 matmul under bf16
// math), float64 through OpenBLAS, bf16 tensors through float copies.
#include <cblas.h>

#include <vector>

#include "core/bfloat16.h"
#include "core/error.h"
#include "kernels/common/onednn.h"
#include "kernels/gemm/gemm.h"

namespace strand::kernels {

GemmShape dense_gemm(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b, int64_t batch) {
  GemmShape s;
  s.m = m, s.n = n, s.k = k, s.trans_a = trans_a, s.trans_b = trans_b, s.batch = batch;
  s.lda = trans_a ? m : k;
  s.ldb = trans_b ? k : n;
  s.ldc = n;
  s.stride_a = m * k, s.stride_b = k * n, s.stride_c = m * n;
  return s;
}

namespace cpu {
namespace {

void check_shape(const GemmShape& s) {
  STRAND_CHECK(s.m >= 0 && s.n >= 0 && s.k >= 0 && s.batch >= 0,
               "gemm: negative size (m {}, n {}, k {}, batch {})", s.m, s.n, s.k, s.batch);
  STRAND_CHECK(s.lda >= (s.trans_a ? s.m : s.k) && s.ldb >= (s.trans_b ? s.k : s.n) && s.ldc >= s.n,
               "gemm: leading dimensions too small (lda {}, ldb {}, ldc {})", s.lda, s.ldb, s.ldc);
}

}  // namespace

template <>
void gemm<float>(const Context&, const GemmShape& s, double alpha, const float* a, const float* b,
                 double beta, float* c, MathMode) {
  check_shape(s);
  sgemm_batched(s, static_cast<float>(alpha), a, b, static_cast<float>(beta), c);
}

template <>
void gemm<double>(const Context&, const GemmShape& s, double alpha, const double* a,
                  const double* b, double beta, double* c, MathMode) {
  check_shape(s);
  for (int64_t i = 0; i < s.batch; ++i) {
    cblas_dgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
                s.trans_b ? CblasTrans : CblasNoTrans, s.m, s.n, s.k, alpha, a + i * s.stride_a,
                s.lda, b + i * s.stride_b, s.ldb, beta, c + i * s.stride_c, s.ldc);
  }
}

template <>
void gemm<BFloat16>(const Context& ctx, const GemmShape& s, double alpha, const BFloat16* a,
                    const BFloat16* b, double beta, BFloat16* c, MathMode mode) {
  check_shape(s);
  // Widen each batch entry to float, multiply, round back. An operand spans (rows - 1) * ld +
  // cols elements: the padding after its last row may not exist, so it is never read.
  auto extent = [](int64_t rows, int64_t ld, int64_t cols) {
    return static_cast<size_t>(rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols);
  };
  std::vector<float> fa(extent(s.trans_a ? s.k : s.m, s.lda, s.trans_a ? s.m : s.k)),
      fb(extent(s.trans_b ? s.n : s.k, s.ldb, s.trans_b ? s.k : s.n)), fc(extent(s.m, s.ldc, s.n));
  GemmShape one = s;
  one.batch = 1;
  for (int64_t i = 0; i < s.batch; ++i) {
    for (size_t j = 0; j < fa.size(); ++j) fa[j] = a[i * s.stride_a + j];
    for (size_t j = 0; j < fb.size(); ++j) fb[j] = b[i * s.stride_b + j];
    for (size_t j = 0; j < fc.size(); ++j) fc[j] = c[i * s.stride_c + j];
    gemm<float>(ctx, one, alpha, fa.data(), fb.data(), beta, fc.data(), mode);
    for (int64_t r = 0; r < s.m; ++r)
      for (int64_t col = 0; col < s.n; ++col)
        c[i * s.stride_c + r * s.ldc + col] = fc[r * s.ldc + col];
  }
}

}  // namespace cpu
}  // namespace strand::kernels
