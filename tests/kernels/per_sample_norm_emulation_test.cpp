// The CUDA per-sample norm kernels, checked without a GPU: their host emulation runs the kernels'
// own index maps (dense strides, a convolution's im2col with stride, padding and dilation, one-hot
// base codes with N), tile loads, accumulations and the ghost method's symmetric tile skipping,
// and must match the CPU implementation for shapes that span several 32-wide tiles and end in
// partial ones. The input-Gram method runs its tensor-core kernels' emulation (mma operand reads
// placed per the PTX fragment layouts, 64-wide symmetric tiles with mirrors, the combine).
#include <gtest/gtest.h>

#include <vector>

#include "kernels/conv1d/conv1d.h"
#include "kernels/per_sample_norm/per_sample_norm.h"
#include "tests/support/test_support.h"

#if STRAND_WITH_CUDA
#include "kernels/per_sample_norm/per_sample_norm_emulate.h"
#endif

namespace strand::kernels {
namespace {

using strand::testing::all_close;
using strand::testing::random_vector;

constexpr double kRtol = 1e-4;

TEST(PerSampleNormEmulation, DenseRowsBothMethods) {
#if !STRAND_WITH_CUDA
  GTEST_SKIP() << "built without CUDA: the kernels are not compiled";
#else
  for (const PerSampleShape s : {PerSampleShape{3, 1, 70, 33}, PerSampleShape{2, 45, 37, 66},
                                 PerSampleShape{2, 70, 5, 3}, PerSampleShape{1, 65, 64, 97}}) {
    const auto a = random_vector<float>(s.positions * s.batch * s.in_dim, 21);
    const auto g = random_vector<float>(s.batch * s.positions * s.out_dim, 22);
    // a time-major, g batch-major: both stride layouts.
    const SampleRows<float> ar{a.data(), s.in_dim, s.batch * s.in_dim, 1};
    const SampleRows<float> gr{g.data(), s.positions * s.out_dim, s.out_dim, 1};
    for (NormMethod m : {NormMethod::kGhost, NormMethod::kMaterialized, NormMethod::kInputGram}) {
      std::vector<float> expected(s.batch), got(s.batch, -1.f);
      cpu::per_sample_norm_dense<float>({}, s, ar, gr, m, expected.data());
      cuda::detail::per_sample_norm_emulate_dense(s, ar, gr, m, got.data());
      EXPECT_TRUE(all_close(got, expected, kRtol, 1e-5)) << norm_method_name(m);
    }
    std::vector<float> bias_expected(s.batch), bias_got(s.batch, -1.f);
    cpu::per_sample_bias_norm<float>({}, s, gr, bias_expected.data());
    cuda::detail::per_sample_bias_norm_emulate(s, gr, bias_got.data());
    EXPECT_TRUE(all_close(bias_got, bias_expected, kRtol, 1e-5)) << "bias";
  }
#endif
}

TEST(PerSampleNormEmulation, ConvolutionsAndBaseCodes) {
#if !STRAND_WITH_CUDA
  GTEST_SKIP() << "built without CUDA: the kernels are not compiled";
#else
  // N, C_in, C_out, L_in, K, stride, pad_left, pad_right, dilation
  for (const Conv1dShape c :
       {Conv1dShape{3, 6, 40, 83, 7, 2, 3, 2, 2}, Conv1dShape{2, 4, 35, 101, 9, 1, 4, 4, 1},
        Conv1dShape{2, 4, 33, 70, 5, 3, 0, 0, 3},
        // Several 64-wide Gram tiles and 32-feature k-tiles, both ending in partial ones.
        Conv1dShape{2, 40, 70, 150, 5, 1, 2, 2, 1}, Conv1dShape{2, 4, 40, 140, 9, 2, 4, 4, 1}}) {
    SCOPED_TRACE(c.to_string());
    const int64_t lout = c.out_length();
    const auto x = random_vector<float>(c.x_numel(), 23);
    const auto dy = random_vector<float>(c.batch * c.out_channels * lout, 24);
    const SampleRows<float> gr{dy.data(), c.out_channels * lout, 1, lout};
    std::vector<uint8_t> bases(c.batch * c.in_length);
    const auto r = random_vector<float>(bases.size(), 25, 0.0, 5.5);  // codes 0-4 and N (4, 5)
    for (size_t k = 0; k < bases.size(); ++k) bases[k] = static_cast<uint8_t>(r[k]);
    for (NormMethod m : {NormMethod::kGhost, NormMethod::kMaterialized, NormMethod::kInputGram}) {
      std::vector<float> expected(c.batch), got(c.batch, -1.f);
      cpu::per_sample_norm_conv1d<float>({}, c, x.data(), gr, m, expected.data());
      cuda::detail::per_sample_norm_emulate_conv1d(c, x.data(), gr, m, got.data());
      EXPECT_TRUE(all_close(got, expected, kRtol, 1e-5)) << "conv " << norm_method_name(m);
      if (c.in_channels != 4) continue;
      cpu::per_sample_norm_bases<float>({}, c, bases.data(), gr, m, expected.data());
      cuda::detail::per_sample_norm_emulate_bases(c, bases.data(), gr, m, got.data());
      EXPECT_TRUE(all_close(got, expected, kRtol, 1e-5)) << "bases " << norm_method_name(m);
    }
  }
#endif
}

}  // namespace
}  // namespace strand::kernels
