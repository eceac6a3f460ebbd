// CUDA GEMM (cuBLAS) against the CPU kernel (gemm_test.cpp checks it against a triple loop) on
// fresh random data with NaN-poisoned outputs (beta = 0 must not read them), every element
// checked: fp32 exact and TF32, f64, bf16; transposes, padded leading dimensions, batches with a
// shared operand, sizes 1 and odd. Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gemm/gemm.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

int64_t span(int64_t rows, int64_t ld, int64_t cols, int64_t batch, int64_t stride) {
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

std::vector<GemmShape> shapes() {
  std::vector<GemmShape> out;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      out.push_back(dense_gemm(1, 1, 1, ta, tb));
      out.push_back(dense_gemm(33, 17, 65, ta, tb, 3));
      out.push_back(dense_gemm(130, 70, 257, ta, tb));
      GemmShape padded = dense_gemm(9, 11, 13, ta, tb, 2);
      padded.lda += 3, padded.ldb += 2, padded.ldc += 5;
      padded.stride_a = (ta ? padded.k : padded.m) * padded.lda + 4;
      padded.stride_b = 0;
      padded.stride_c = padded.m * padded.ldc + 1;
      out.push_back(padded);
    }
  }
  return out;
}

// Every shape at beta 0 (C starts as NaN: it must be ignored) and beta != 0 (C read and scaled).
// A sum of k products of values in [-1, 1] has a rounding error that grows with sqrt(k), so the
// absolute tolerance is the relative one times sqrt(k).
template <typename T>
void check(MathMode mode, double tol) {
  uint64_t seed = 1;
  for (const GemmShape& s : shapes()) {
    for (double beta : {0.0, 0.5}) {
      SCOPED_TRACE(::testing::Message()
                   << "m " << s.m << " n " << s.n << " k " << s.k << " ta " << s.trans_a << " tb "
                   << s.trans_b << " batch " << s.batch << " beta " << beta);
      const auto a = random_vector<T>(
          span(s.trans_a ? s.k : s.m, s.lda, s.trans_a ? s.m : s.k, s.batch, s.stride_a), ++seed);
      const auto b = random_vector<T>(
          span(s.trans_b ? s.n : s.k, s.ldb, s.trans_b ? s.k : s.n, s.batch, s.stride_b), ++seed);
      const int64_t c_size = span(s.m, s.ldc, s.n, s.batch, s.stride_c);
      std::vector<T> c = random_vector<T>(c_size, ++seed);
      DeviceBuffer<T> d_a(a), d_b(b), d_c(c_size);  // poisoned
      if (beta != 0) d_c.upload(c);
      cpu::gemm<T>({}, s, 1.5, a.data(), b.data(), beta, c.data());
      cuda::gemm<T>({}, s, 1.5, d_a.get(), d_b.get(), beta, d_c.get(), mode);
      // Only C's m x n entries are compared: the padding between rows stays as it was.
      const std::vector<T> got = d_c.download();
      std::vector<T> got_entries;
      std::vector<double> want_entries;
      for (int64_t p = 0; p < s.batch; ++p)
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t j = 0; j < s.n; ++j) {
            got_entries.push_back(got[p * s.stride_c + i * s.ldc + j]);
            want_entries.push_back(static_cast<double>(c[p * s.stride_c + i * s.ldc + j]));
          }
      EXPECT_TRUE(
          all_close(got_entries, want_entries, tol, tol * std::sqrt(static_cast<double>(s.k))));
    }
  }
}

TEST(GemmCuda, Fp32MatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  check<float>(MathMode::kExact, kernel_tolerance<float>());
}

TEST(GemmCuda, Tf32MatchesCpuWithinTf32Rounding) {
  STRAND_REQUIRE_CUDA_DEVICE();
  // TF32 keeps 10 mantissa bits of each input: ~1e-3 relative, as the design allows.
  check<float>(MathMode::kTf32, 1e-3);
}

TEST(GemmCuda, F64MatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  check<double>(MathMode::kExact, kernel_tolerance<double>());
}

TEST(GemmCuda, Bf16MatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  check<BFloat16>(MathMode::kExact, kernel_tolerance<BFloat16>());
}

TEST(GemmCuda, NegativeSizesRaiseErrorsBeforeAnyLaunch) {
  // The check runs on the host, so this needs no device.
  GemmShape s = dense_gemm(2, 3, 4, false, false);
  s.k = -4;
  STRAND_EXPECT_ERROR(cuda::gemm<float>({}, s, 1, nullptr, nullptr, 0, nullptr),
                      "gemm: negative size (m 2, n 3, k -4, batch 1)");
}

}  // namespace
}  // namespace strand::kernels
