// CPU one-hot DNA conv1d: equal to the dense conv1d of the explicit one-hot matrix (unknown bases
// included), codes and 2-bit packed inputs agree, hand-computed values, and clear errors; the
// fused conv + ReLU + max pool equals the three steps; the CUDA kernels' host emulations
// (forward, fused pool, weight gradient) equal the float64 dense reference.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/conv1d/conv1d_onehot_pool.h"
#include "tests/kernels/conv1d_test_shapes.h"
#include "tests/support/test_support.h"

#if STRAND_WITH_CUDA
#include "kernels/conv1d/conv1d_cuda_impl.h"
#endif

namespace strand::kernels {
namespace {

using strand::testing::abs_max;
using strand::testing::all_close;
using strand::testing::random_bases;
using strand::testing::random_vector;
using ::testing::HasSubstr;

TEST(Conv1dOnehot, PackingPutsTheFirstBaseInTheLowBits) {
  const std::vector<uint8_t> codes{kBaseC, kBaseG, kBaseT, kBaseA, kBaseT};
  std::vector<uint8_t> packed(2, 0xAA);
  cpu::pack_bases_2bit(codes.data(), 1, 5, packed.data());
  EXPECT_EQ(packed[0], 1 | (2 << 2) | (3 << 4) | (0 << 6));
  EXPECT_EQ(packed[1], 3);
  EXPECT_EQ(packed_row_bytes(5), 2);
  EXPECT_EQ(packed_row_bytes(8), 2);
  EXPECT_EQ(onehot_input_bytes({3, 4, 2, 9, 1}, BaseEncoding::kPacked2), 9);
  EXPECT_EQ(onehot_input_bytes({3, 4, 2, 9, 1}, BaseEncoding::kCodes), 27);
}

TEST(Conv1dOnehot, ExpansionEncodesUnknownAsAQuarterEverywhere) {
  const Conv1dShape s{1, 4, 1, 6, 1};
  const std::vector<uint8_t> codes{0, 1, 2, 3, 4, 9};
  std::vector<float> x(24, -1.f);
  cpu::bases_to_onehot<float>(s, BaseEncoding::kCodes, codes.data(), x.data());
  EXPECT_EQ(x, (std::vector<float>{1, 0, 0, 0, .25f, .25f,  //
                                   0, 1, 0, 0, .25f, .25f,  //
                                   0, 0, 1, 0, .25f, .25f,  //
                                   0, 0, 0, 1, .25f, .25f}));
}

TEST(Conv1dOnehot, HandComputedGatherWithUnknownBase) {
  // W[c][k] = {{1, 2}, {3, 4}, {5, 6}, {7, 8}}; bases A C N T; y[t] = W'[b[t], 0] + W'[b[t+1], 1].
  const Conv1dShape s{1, 4, 1, 4, 2};
  const std::vector<double> w{1, 2, 3, 4, 5, 6, 7, 8}, b{0.5};
  const std::vector<uint8_t> codes{kBaseA, kBaseC, kBaseUnknown, kBaseT};
  std::vector<double> y(3);
  cpu::conv1d_onehot_forward<double>({}, s, BaseEncoding::kCodes, codes.data(), w.data(), b.data(),
                                     y.data());
  EXPECT_EQ(y, (std::vector<double>{1 + 4 + 0.5, 3 + 5 + 0.5, 4 + 8 + 0.5}));
  // dW[c][k] for dy = (1, 10, 100): k = 0 sees A, C, N; k = 1 sees C, N, T.
  const std::vector<double> dy{1, 10, 100};
  std::vector<double> dw(8);
  cpu::conv1d_onehot_backward_weight<double>({}, s, BaseEncoding::kCodes, codes.data(), dy.data(),
                                             dw.data());
  EXPECT_EQ(dw, (std::vector<double>{1 + 25, 2.5, 10 + 25, 1 + 2.5, 25, 2.5, 25, 100 + 2.5}));
}

template <typename T>
class Conv1dOnehotTyped : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Conv1dOnehotTyped, FloatTypes);

TYPED_TEST(Conv1dOnehotTyped, EqualsDenseConvOfTheOnehotMatrix) {
  using T = TypeParam;
  const double tol = sizeof(T) == 4 ? 2e-6 : 1e-13;
  uint64_t seed = 300;
  for (const Conv1dShape& s : strand::testing::conv1d_onehot_sweep_shapes()) {
    for (bool packed : {false, true}) {
      SCOPED_TRACE(s.to_string() + (packed ? " packed" : " codes"));
      const auto codes = random_bases(s.batch * s.in_length, ++seed, !packed);
      std::vector<uint8_t> bases = codes;
      if (packed) {
        bases.assign(onehot_input_bytes(s, BaseEncoding::kPacked2), 0);
        cpu::pack_bases_2bit(codes.data(), s.batch, s.in_length, bases.data());
      }
      const BaseEncoding enc = packed ? BaseEncoding::kPacked2 : BaseEncoding::kCodes;
      std::vector<T> x(s.x_numel());
      cpu::bases_to_onehot<T>(s, BaseEncoding::kCodes, codes.data(), x.data());
      const auto w = random_vector<T>(s.w_numel(), ++seed);
      const auto b = random_vector<T>(s.out_channels, ++seed);
      const auto dy = random_vector<T>(s.y_numel(), ++seed);

      for (Conv1dCpuAlgo algo : {Conv1dCpuAlgo::kReference, Conv1dCpuAlgo::kFast}) {
        SCOPED_TRACE(algo == Conv1dCpuAlgo::kFast ? "fast" : "reference");
        std::vector<T> y_dense(s.y_numel()), y(s.y_numel(), T(-5));
        cpu::conv1d_forward<T>({}, s, x.data(), w.data(), b.data(), y_dense.data(),
                               Conv1dCpuAlgo::kReference);
        cpu::conv1d_onehot_forward<T>({}, s, enc, bases.data(), w.data(), b.data(), y.data(), algo);
        EXPECT_TRUE(all_close(y, y_dense, tol, tol * abs_max(y_dense))) << "forward";
        cpu::conv1d_forward<T>({}, s, x.data(), w.data(), nullptr, y_dense.data(),
                               Conv1dCpuAlgo::kReference);
        cpu::conv1d_onehot_forward<T>({}, s, enc, bases.data(), w.data(), nullptr, y.data(), algo);
        EXPECT_TRUE(all_close(y, y_dense, tol, tol * abs_max(y_dense))) << "forward, no bias";

        const auto dw0 = random_vector<T>(s.w_numel(), ++seed);
        std::vector<T> dw_dense = dw0, dw = dw0, dw_fresh(s.w_numel(), T(77));
        cpu::conv1d_backward_weight<T>({}, s, x.data(), dy.data(), dw_dense.data(), true,
                                       Conv1dCpuAlgo::kReference);
        cpu::conv1d_onehot_backward_weight<T>({}, s, enc, bases.data(), dy.data(), dw.data(), true,
                                              algo);
        EXPECT_TRUE(all_close(dw, dw_dense, tol, tol * abs_max(dw_dense))) << "backward_weight";
        cpu::conv1d_onehot_backward_weight<T>({}, s, enc, bases.data(), dy.data(), dw_fresh.data(),
                                              false, algo);
        for (size_t i = 0; i < dw_fresh.size(); ++i) dw_fresh[i] += dw0[i];
        EXPECT_TRUE(all_close(dw_fresh, dw_dense, tol, tol * abs_max(dw_dense))) << "overwrite";
      }
    }
  }
}

TEST(Conv1dOnehot, BadInputsSayWhatIsWrong) {
  std::vector<uint8_t> bases(64, 0);
  std::vector<float> w(256), y(256);
  auto message = [&](const Conv1dShape& s, const uint8_t* b) {
    try {
      cpu::conv1d_onehot_forward<float>({}, s, BaseEncoding::kCodes, b, w.data(), nullptr,
                                        y.data());
    } catch (const Error& e) {
      return e.message();
    }
    return std::string("no error");
  };
  EXPECT_THAT(message({1, 5, 2, 8, 3}, bases.data()), HasSubstr("4 channels, shape has 5"));
  EXPECT_THAT(message({1, 4, 2, 8, 3, 1, 0, 0, 1, 2}, bases.data()), HasSubstr("groups == 1"));
  EXPECT_THAT(message({1, 4, 2, 8, 9}, bases.data()), HasSubstr("kernel longer than padded"));
  EXPECT_THAT(message({1, 4, 2, 8, 3}, nullptr), HasSubstr("bases is null"));
  EXPECT_EQ(message({1, 4, 2, 8, 3}, bases.data()), "no error");
  const std::vector<uint8_t> codes{0, 1, 4, 2};
  std::vector<uint8_t> packed(1);
  try {
    cpu::pack_bases_2bit(codes.data(), 1, 4, packed.data());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("base code 4 at row 0 position 2 cannot be packed"));
  }
}

// The CUDA one-hot kernels' own per-thread code, run on the host over their launch grid.
TEST(Conv1dOnehot, CudaKernelEmulationEqualsDenseConv) {
#if !STRAND_WITH_CUDA
  GTEST_SKIP() << "built without CUDA: the one-hot kernels are not compiled";
#else
  auto shapes = strand::testing::conv1d_onehot_sweep_shapes();
  shapes.push_back({5, 4, 33, 700, 8, 1, 0, 0, 1, 1});     // several blocks in t and o
  shapes.push_back({3, 4, 16, 300, 7, 100, 3, 3, 50, 1});  // huge stride and dilation
  const double tol = 2e-6;
  uint64_t seed = 900;
  for (const Conv1dShape& s : shapes) {
    for (bool packed : {false, true}) {
      SCOPED_TRACE(s.to_string() + (packed ? " packed" : " codes"));
      const auto codes = random_bases(s.batch * s.in_length, ++seed, !packed);
      std::vector<uint8_t> bases = codes;
      if (packed) {
        bases.assign(onehot_input_bytes(s, BaseEncoding::kPacked2), 0);
        cpu::pack_bases_2bit(codes.data(), s.batch, s.in_length, bases.data());
      }
      const BaseEncoding enc = packed ? BaseEncoding::kPacked2 : BaseEncoding::kCodes;
      std::vector<double> x(s.x_numel());
      cpu::bases_to_onehot<double>(s, BaseEncoding::kCodes, codes.data(), x.data());
      const auto w = random_vector<float>(s.w_numel(), ++seed);
      const auto b = random_vector<float>(s.out_channels, ++seed);
      const auto dy = random_vector<float>(s.y_numel(), ++seed);
      const auto dw0 = random_vector<float>(s.w_numel(), ++seed);
      const std::vector<double> wd(w.begin(), w.end()), bd(b.begin(), b.end()),
          dyd(dy.begin(), dy.end());
      std::vector<double> y_ref(s.y_numel()), dw_ref(dw0.begin(), dw0.end());
      cpu::conv1d_forward<double>({}, s, x.data(), wd.data(), bd.data(), y_ref.data(),
                                  Conv1dCpuAlgo::kReference);
      cpu::conv1d_backward_weight<double>({}, s, x.data(), dyd.data(), dw_ref.data(), true,
                                          Conv1dCpuAlgo::kReference);
      std::vector<float> y(s.y_numel(), std::nanf("")), dw = dw0;
      cuda::detail::onehot_emulate_forward(s, enc, bases.data(), w.data(), b.data(), y.data());
      cuda::detail::onehot_emulate_backward_weight(s, enc, bases.data(), dy.data(), dw.data(),
                                                   true);
      EXPECT_TRUE(all_close(y, y_ref, tol, tol * abs_max(y_ref))) << "forward";
      EXPECT_TRUE(all_close(dw, dw_ref, tol, tol * abs_max(dw_ref))) << "backward_weight";
    }
  }
#endif
}

// ReLU then max pool of a conv output [rows, l_out], in double.
std::vector<double> relu_maxpool(const std::vector<double>& y, int64_t rows, int64_t l_out,
                                 const OnehotPool& pool) {
  const int64_t pooled = (l_out - pool.size) / pool.stride + 1;
  std::vector<double> out(static_cast<size_t>(rows * pooled));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < pooled; ++j) {
      double best = 0;
      for (int64_t q = 0; q < pool.size; ++q)
        best = std::max(best, y[r * l_out + j * pool.stride + q]);
      out[r * pooled + j] = best;
    }
  return out;
}

// Pools for a conv output of length l_out: DeepSEA's 4/4, Basset's 3/3, overlapping 5/2, 1/1,
// and the whole output at once.
std::vector<OnehotPool> pools_for(int64_t l_out) {
  std::vector<OnehotPool> pools{{1, 1}, {l_out, 1}};
  for (OnehotPool p : {OnehotPool{4, 4}, OnehotPool{3, 3}, OnehotPool{5, 2}}) {
    if (p.size <= l_out) pools.push_back(p);
  }
  return pools;
}

TEST(Conv1dOnehot, FusedReluMaxPoolEqualsTheThreeSteps) {
  uint64_t seed = 1300;
  for (const Conv1dShape& s : strand::testing::conv1d_onehot_sweep_shapes()) {
    const int64_t l_out = s.out_length();
    const auto codes = random_bases(s.batch * s.in_length, ++seed, true);
    const auto w = random_vector<double>(s.w_numel(), ++seed);
    const auto b = random_vector<double>(s.out_channels, ++seed);
    std::vector<double> y(s.y_numel());
    cpu::conv1d_onehot_forward<double>({}, s, BaseEncoding::kCodes, codes.data(), w.data(),
                                       b.data(), y.data(), Conv1dCpuAlgo::kReference);
    for (const OnehotPool& pool : pools_for(l_out)) {
      SCOPED_TRACE(s.to_string() + " pool " + std::to_string(pool.size) + "/" +
                   std::to_string(pool.stride));
      const auto expected = relu_maxpool(y, s.batch * s.out_channels, l_out, pool);
      std::vector<double> got(expected.size(), std::nan(""));
      cpu::conv1d_onehot_relu_maxpool<double>({}, s, pool, BaseEncoding::kCodes, codes.data(),
                                              w.data(), b.data(), got.data());
      EXPECT_TRUE(all_close(got, expected, 1e-12, 1e-12));
    }
  }
  std::vector<double> y(64);
  const std::vector<uint8_t> bases(16, 0);
  try {
    cpu::conv1d_onehot_relu_maxpool<double>({}, {1, 4, 1, 16, 3}, {15, 1}, BaseEncoding::kCodes,
                                            bases.data(), y.data(), nullptr, y.data());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("pool size 15 is longer than the conv output (14)"));
  }
}

// The fused kernel's and the rewritten weight gradient's own per-thread code over their grids:
// several pool blocks, channel and sample groups, and a kernel longer than one pass of taps.
TEST(Conv1dOnehot, CudaFusedPoolAndWeightGradientEmulationsEqualTheReference) {
#if !STRAND_WITH_CUDA
  GTEST_SKIP() << "built without CUDA: the one-hot kernels are not compiled";
#else
  auto shapes = strand::testing::conv1d_onehot_sweep_shapes();
  shapes.push_back({11, 4, 18, 1100, 8, 1, 0, 0, 1, 1});  // DeepSEA-like: 3 pool blocks of 4/4
  shapes.push_back({2, 4, 5, 400, 300, 1, 0, 0, 1, 1});   // 300 taps: two passes of 256
  uint64_t seed = 1400;
  for (const Conv1dShape& s : shapes) {
    const int64_t l_out = s.out_length();
    const auto codes = random_bases(s.batch * s.in_length, ++seed, true);
    std::vector<double> x(s.x_numel());
    cpu::bases_to_onehot<double>(s, BaseEncoding::kCodes, codes.data(), x.data());
    const auto w = random_vector<float>(s.w_numel(), ++seed);
    const auto b = random_vector<float>(s.out_channels, ++seed);
    const auto dy = random_vector<float>(s.y_numel(), ++seed);
    const std::vector<double> wd(w.begin(), w.end()), bd(b.begin(), b.end()),
        dyd(dy.begin(), dy.end());
    std::vector<double> y(s.y_numel()), dw_ref(s.w_numel());
    cpu::conv1d_forward<double>({}, s, x.data(), wd.data(), bd.data(), y.data(),
                                Conv1dCpuAlgo::kReference);
    cpu::conv1d_backward_weight<double>({}, s, x.data(), dyd.data(), dw_ref.data(), false,
                                        Conv1dCpuAlgo::kReference);
    std::vector<float> dw(s.w_numel(), std::nanf(""));
    cuda::detail::onehot_emulate_backward_weight(s, BaseEncoding::kCodes, codes.data(), dy.data(),
                                                 dw.data(), false);
    EXPECT_TRUE(all_close(dw, dw_ref, 1e-5, 1e-5 * abs_max(dw_ref))) << s.to_string();
    for (const OnehotPool& pool : pools_for(l_out)) {
      SCOPED_TRACE(s.to_string() + " pool " + std::to_string(pool.size) + "/" +
                   std::to_string(pool.stride));
      const auto expected = relu_maxpool(y, s.batch * s.out_channels, l_out, pool);
      std::vector<float> got(expected.size(), std::nanf(""));
      cuda::detail::onehot_emulate_relu_maxpool(s, pool, BaseEncoding::kCodes, codes.data(),
                                                w.data(), b.data(), got.data());
      EXPECT_TRUE(all_close(got, expected, 2e-6, 2e-6 * abs_max(expected)));
    }
  }
#endif
}

}  // namespace
}  // namespace strand::kernels
