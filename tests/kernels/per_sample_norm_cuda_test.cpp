// CUDA per-example gradient norms against their CPU twins on fresh random data, with poisoned
// outputs: dense rows (strided), convolutions (stride / padding / dilation), base codes, bias
// norms, every method (input_gram: the tensor-core Gram kernels), shapes that do not fill whole
// tiles, a mid layer, and an input long enough that the Gram workspaces run in chunks.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/per_sample_norm/per_sample_norm.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;
using testing::test_context;

constexpr double kRtol = 1e-4;

TEST(PerSampleNormCuda, DenseMatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  for (const PerSampleShape s :
       {PerSampleShape{3, 1, 70, 33}, PerSampleShape{5, 45, 37, 66}, PerSampleShape{2, 70, 5, 3}}) {
    const auto a = random_vector<float>(s.positions * s.batch * s.in_dim, 11);
    const auto g = random_vector<float>(s.batch * s.positions * s.out_dim, 12);
    // a time-major, g batch-major: both stride layouts run.
    const SampleRows<float> ar_h{a.data(), s.in_dim, s.batch * s.in_dim, 1};
    const SampleRows<float> gr_h{g.data(), s.positions * s.out_dim, s.out_dim, 1};
    DeviceBuffer<float> da(a), dg(g);
    const SampleRows<float> ar_d{da.get(), ar_h.stride_n, ar_h.stride_t, 1};
    const SampleRows<float> gr_d{dg.get(), gr_h.stride_n, gr_h.stride_t, 1};
    for (NormMethod m : {NormMethod::kGhost, NormMethod::kMaterialized, NormMethod::kInputGram}) {
      std::vector<float> expected(s.batch);
      cpu::per_sample_norm_dense<float>({}, s, ar_h, gr_h, m, expected.data());
      DeviceBuffer<float> out(s.batch);
      cuda::per_sample_norm_dense<float>(test_context(), s, ar_d, gr_d, m, out.get());
      EXPECT_TRUE(all_close(out.download(), expected, kRtol, 1e-5)) << norm_method_name(m);
    }
    std::vector<float> bias_expected(s.batch);
    cpu::per_sample_bias_norm<float>({}, s, gr_h, bias_expected.data());
    DeviceBuffer<float> bias_out(s.batch);
    cuda::per_sample_bias_norm<float>(test_context(), s, gr_d, bias_out.get());
    EXPECT_TRUE(all_close(bias_out.download(), bias_expected, kRtol, 1e-5));
  }
}

TEST(PerSampleNormCuda, ConvolutionMatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  Conv1dShape c;
  c.batch = 3, c.in_channels = 6, c.out_channels = 40, c.in_length = 83, c.kernel_size = 7;
  c.stride = 2, c.pad_left = 3, c.pad_right = 2, c.dilation = 2;
  const int64_t lout = c.out_length();
  const auto x = random_vector<float>(c.x_numel(), 13);
  const auto dy = random_vector<float>(c.batch * c.out_channels * lout, 14);
  DeviceBuffer<float> dx(x), ddy(dy);
  for (NormMethod m : {NormMethod::kGhost, NormMethod::kMaterialized, NormMethod::kInputGram}) {
    std::vector<float> expected(c.batch);
    cpu::per_sample_norm_conv1d<float>({}, c, x.data(), {dy.data(), c.out_channels * lout, 1, lout},
                                       m, expected.data());
    DeviceBuffer<float> out(c.batch);
    cuda::per_sample_norm_conv1d<float>(test_context(), c, dx.get(),
                                        {ddy.get(), c.out_channels * lout, 1, lout}, m, out.get());
    EXPECT_TRUE(all_close(out.download(), expected, kRtol, 1e-5)) << norm_method_name(m);
  }
}

TEST(PerSampleNormCuda, BaseCodesMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  Conv1dShape c;
  c.batch = 4, c.in_channels = 4, c.out_channels = 35, c.in_length = 101, c.kernel_size = 9;
  c.pad_left = 4, c.pad_right = 4;
  const int64_t lout = c.out_length();
  std::vector<uint8_t> bases(c.batch * c.in_length);
  const auto r = random_vector<float>(bases.size(), 15, 0.0, 5.5);
  for (size_t k = 0; k < bases.size(); ++k) bases[k] = static_cast<uint8_t>(r[k]);
  const auto dy = random_vector<float>(c.batch * c.out_channels * lout, 16);
  DeviceBuffer<uint8_t> db(bases);
  DeviceBuffer<float> ddy(dy);
  for (NormMethod m : {NormMethod::kGhost, NormMethod::kMaterialized, NormMethod::kInputGram}) {
    std::vector<float> expected(c.batch);
    cpu::per_sample_norm_bases<float>(
        {}, c, bases.data(), {dy.data(), c.out_channels * lout, 1, lout}, m, expected.data());
    DeviceBuffer<float> out(c.batch);
    cuda::per_sample_norm_bases<float>(test_context(), c, db.get(),
                                       {ddy.get(), c.out_channels * lout, 1, lout}, m, out.get());
    EXPECT_TRUE(all_close(out.download(), expected, kRtol, 1e-5)) << norm_method_name(m);
  }
}

// The input-Gram kernels on a DeepSEA-like mid layer (several 64-wide tiles and 32-feature
// k-tiles) and on a 4000-long input (64 MB of input Gram per example: the 256 MB workspace runs
// the 5 examples in two chunks), against the CPU materialized norm.
TEST(PerSampleNormCuda, InputGramOnMidLayersAndInChunks) {
  STRAND_REQUIRE_CUDA_DEVICE();
  for (const Conv1dShape c :
       {Conv1dShape{4, 320, 96, 248, 8}, Conv1dShape{5, 3, 8, 4000, 5, 1, 2, 2, 1}}) {
    SCOPED_TRACE(c.to_string());
    const int64_t lout = c.out_length();
    const auto x = random_vector<float>(c.x_numel(), 17);
    const auto dy = random_vector<float>(c.batch * c.out_channels * lout, 18);
    std::vector<float> expected(c.batch);
    cpu::per_sample_norm_conv1d<float>({}, c, x.data(), {dy.data(), c.out_channels * lout, 1, lout},
                                       NormMethod::kMaterialized, expected.data());
    DeviceBuffer<float> dx(x), ddy(dy), out(c.batch);
    cuda::per_sample_norm_conv1d<float>(test_context(), c, dx.get(),
                                        {ddy.get(), c.out_channels * lout, 1, lout},
                                        NormMethod::kInputGram, out.get());
    EXPECT_TRUE(all_close(out.download(), expected, kRtol, 1e-5));
  }
}

}  // namespace
}  // namespace strand::kernels
