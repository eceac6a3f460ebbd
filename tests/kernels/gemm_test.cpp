// CPU GEMM against a plain triple loop in double: every transpose combination, alpha and beta,
// leading dimensions wider than the matrices, batches (strided and with a shared operand), sizes
// 1 and odd, float, double and bf16; and the shape checks.
#include "kernels/gemm/gemm.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/kernels/kernel_test_support.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

// Elements an operand of `rows` rows with row stride ld spans, over the whole batch.
int64_t span(int64_t rows, int64_t ld, int64_t cols, int64_t batch, int64_t stride) {
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

template <typename T>
std::vector<double> reference(const GemmShape& s, double alpha, const std::vector<T>& a,
                              const std::vector<T>& b, double beta, const std::vector<T>& c) {
  std::vector<double> out(c.size());
  for (size_t i = 0; i < c.size(); ++i) out[i] = static_cast<double>(c[i]);
  for (int64_t p = 0; p < s.batch; ++p) {
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        double sum = 0;
        for (int64_t k = 0; k < s.k; ++k) {
          const T av =
              s.trans_a ? a[p * s.stride_a + k * s.lda + i] : a[p * s.stride_a + i * s.lda + k];
          const T bv =
              s.trans_b ? b[p * s.stride_b + j * s.ldb + k] : b[p * s.stride_b + k * s.ldb + j];
          sum += static_cast<double>(av) * static_cast<double>(bv);
        }
        double& o = out[p * s.stride_c + i * s.ldc + j];
        o = alpha * sum + (beta == 0 ? 0.0 : beta * o);
      }
    }
  }
  return out;
}

template <typename T>
class GemmTest : public ::testing::Test {};
TYPED_TEST_SUITE(GemmTest, KernelTypes);

// Shapes (m, n, k, batch) with padded leading dimensions and batch strides; stride_b = 0 shares B.
std::vector<GemmShape> shapes() {
  std::vector<GemmShape> out;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      out.push_back(dense_gemm(1, 1, 1, ta, tb));
      out.push_back(dense_gemm(7, 5, 3, ta, tb));
      out.push_back(dense_gemm(33, 17, 65, ta, tb, 3));
      GemmShape padded = dense_gemm(9, 11, 13, ta, tb, 2);
      padded.lda += 3, padded.ldb += 2, padded.ldc += 5;
      padded.stride_a = (ta ? padded.k : padded.m) * padded.lda + 4;
      padded.stride_b = 0;  // one B for the whole batch
      padded.stride_c = padded.m * padded.ldc + 1;
      out.push_back(padded);
    }
  }
  return out;
}

TYPED_TEST(GemmTest, MatchesATripleLoop) {
  using T = TypeParam;
  // Each output sums k products; bf16 inputs are exact in float, so only the output rounds.
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 1;
  for (const GemmShape& s : shapes()) {
    for (auto [alpha, beta] : {std::pair{1.0, 0.0}, {0.5, 1.0}, {-1.5, 0.25}}) {
      SCOPED_TRACE(::testing::Message()
                   << "m " << s.m << " n " << s.n << " k " << s.k << " ta " << s.trans_a << " tb "
                   << s.trans_b << " batch " << s.batch << " ldc " << s.ldc << " alpha " << alpha
                   << " beta " << beta);
      const auto a = random_vector<T>(
          span(s.trans_a ? s.k : s.m, s.lda, s.trans_a ? s.m : s.k, s.batch, s.stride_a), ++seed);
      const auto b = random_vector<T>(
          span(s.trans_b ? s.n : s.k, s.ldb, s.trans_b ? s.k : s.n, s.batch, s.stride_b), ++seed);
      // C's padding (between rows and batch entries) must come out unchanged.
      auto c = random_vector<T>(span(s.m, s.ldc, s.n, s.batch, s.stride_c), ++seed);
      const auto expected = reference(s, alpha, a, b, beta, c);
      cpu::gemm<T>({}, s, alpha, a.data(), b.data(), beta, c.data());
      // Sums of k products of values in [-1, 1]: the error scales with sqrt(k), not with C.
      const double atol = tol * std::sqrt(static_cast<double>(s.k));
      EXPECT_TRUE(all_close(c, expected, tol, atol));
    }
  }
}

TEST(GemmShapeTest, DenseShapesPackOperandsTightly) {
  const GemmShape s = dense_gemm(4, 6, 5, true, false, 3);
  EXPECT_EQ(s.lda, 4);  // A stored k x m
  EXPECT_EQ(s.ldb, 6);
  EXPECT_EQ(s.ldc, 6);
  EXPECT_EQ(s.stride_a, 20);
  EXPECT_EQ(s.stride_b, 30);
  EXPECT_EQ(s.stride_c, 24);
  EXPECT_EQ(dense_gemm(4, 6, 5, false, true).ldb, 5);
}

TEST(GemmShapeTest, BadShapesRaiseErrors) {
  std::vector<float> buf(64);
  GemmShape s = dense_gemm(2, 3, 4, false, false);
  s.m = -1;
  STRAND_EXPECT_ERROR(cpu::gemm<float>({}, s, 1, buf.data(), buf.data(), 0, buf.data()),
                      "gemm: negative size (m -1, n 3, k 4, batch 1)");
  s = dense_gemm(2, 3, 4, false, false);
  s.lda = 3;  // A is 2 x 4
  STRAND_EXPECT_ERROR(cpu::gemm<double>({}, s, 1, reinterpret_cast<double*>(buf.data()),
                                        reinterpret_cast<double*>(buf.data()), 0,
                                        reinterpret_cast<double*>(buf.data())),
                      "gemm: leading dimensions too small (lda 3, ldb 3, ldc 3)");
  s = dense_gemm(2, 3, 4, false, true);
  s.ldb = 3;  // B^T stored 3 x 4
  std::vector<BFloat16> h(64);
  STRAND_EXPECT_ERROR(cpu::gemm<BFloat16>({}, s, 1, h.data(), h.data(), 0, h.data()),
                      "leading dimensions too small (lda 4, ldb 3, ldc 3)");
}

}  // namespace
}  // namespace strand::kernels
