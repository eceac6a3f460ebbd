// CPU per-example gradient norms against a naive oracle that materialises every example's
// weight gradient in double: dense (strided) rows, convolutions with stride / padding / dilation,
// the one-hot base-code path (unknown bases, padding), bias norms, both methods, float and double.
#include "kernels/per_sample_norm/per_sample_norm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using testing::all_close;
using ::testing::HasSubstr;
using testing::random_vector;

// ||sum_t g_t a_t^T||^2 for each example, with a given as a function (i, t, k).
template <typename A, typename G>
std::vector<double> oracle(const PerSampleShape& s, A a, G g) {
  std::vector<double> out(s.batch);
  for (int64_t i = 0; i < s.batch; ++i) {
    double total = 0;
    for (int64_t o = 0; o < s.out_dim; ++o) {
      for (int64_t k = 0; k < s.in_dim; ++k) {
        double v = 0;
        for (int64_t t = 0; t < s.positions; ++t) v += g(i, t, o) * a(i, t, k);
        total += v * v;
      }
    }
    out[i] = total;
  }
  return out;
}

template <typename T>
class PerSampleNormTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(PerSampleNormTest, Types);

template <typename T>
double tol() {
  return std::is_same_v<T, float> ? 1e-4 : 1e-10;
}

TYPED_TEST(PerSampleNormTest, DenseStridedRowsBothMethods) {
  using T = TypeParam;
  // a stored time-major [T, N, in] (as the recurrent taps are), g batch-major [N, T, out].
  const PerSampleShape s{3, 5, 7, 4};
  const auto a = random_vector<T>(s.positions * s.batch * s.in_dim, 1);
  const auto g = random_vector<T>(s.batch * s.positions * s.out_dim, 2);
  const SampleRows<T> ar{a.data(), s.in_dim, s.batch * s.in_dim, 1};
  const SampleRows<T> gr{g.data(), s.positions * s.out_dim, s.out_dim, 1};
  const auto expected = oracle(
      s,
      [&](int64_t i, int64_t t, int64_t k) { return double(a[(t * s.batch + i) * s.in_dim + k]); },
      [&](int64_t i, int64_t t, int64_t o) {
        return double(g[(i * s.positions + t) * s.out_dim + o]);
      });
  for (NormMethod m : {NormMethod::kGhost, NormMethod::kMaterialized, NormMethod::kInputGram}) {
    std::vector<T> out(s.batch, T(-1));
    cpu::per_sample_norm_dense<T>({}, s, ar, gr, m, out.data());
    EXPECT_TRUE(all_close(out, expected, tol<T>(), 0)) << norm_method_name(m);
  }
}

TYPED_TEST(PerSampleNormTest, ConvolutionWithStridePaddingDilation) {
  using T = TypeParam;
  Conv1dShape c;
  c.batch = 2, c.in_channels = 3, c.out_channels = 5, c.in_length = 17, c.kernel_size = 4;
  c.stride = 2, c.pad_left = 3, c.pad_right = 1, c.dilation = 2;
  const int64_t lout = c.out_length();
  const auto x = random_vector<T>(c.x_numel(), 3);
  const auto dy = random_vector<T>(c.batch * c.out_channels * lout, 4);
  const PerSampleShape s = conv_per_sample_shape(c);
  EXPECT_EQ(s.positions, lout);
  EXPECT_EQ(s.in_dim, 12);
  const auto expected = oracle(
      s,
      [&](int64_t i, int64_t t, int64_t k) {
        const int64_t ch = k / c.kernel_size, kk = k % c.kernel_size;
        const int64_t p = t * c.stride - c.pad_left + kk * c.dilation;
        return (p < 0 || p >= c.in_length) ? 0.0
                                           : double(x[(i * c.in_channels + ch) * c.in_length + p]);
      },
      [&](int64_t i, int64_t t, int64_t o) {
        return double(dy[(i * c.out_channels + o) * lout + t]);
      });
  const SampleRows<T> gr{dy.data(), c.out_channels * lout, 1, lout};
  for (NormMethod m : {NormMethod::kGhost, NormMethod::kMaterialized, NormMethod::kInputGram}) {
    std::vector<T> out(c.batch, T(-1));
    cpu::per_sample_norm_conv1d<T>({}, c, x.data(), gr, m, out.data());
    EXPECT_TRUE(all_close(out, expected, tol<T>(), 0)) << norm_method_name(m);
  }
}

TYPED_TEST(PerSampleNormTest, BaseCodesEqualTheirOneHotConvolution) {
  using T = TypeParam;
  Conv1dShape c;
  c.batch = 3, c.in_channels = 4, c.out_channels = 6, c.in_length = 20, c.kernel_size = 5;
  c.pad_left = 2, c.pad_right = 2;
  const int64_t lout = c.out_length();
  std::vector<uint8_t> bases(c.batch * c.in_length);
  for (size_t k = 0; k < bases.size(); ++k) bases[k] = static_cast<uint8_t>((k * 7 + k / 3) % 6);
  std::vector<T> onehot(c.x_numel());  // code 4 and 5 (above 4) are unknown: 0.25 each
  for (int64_t i = 0; i < c.batch; ++i) {
    for (int64_t p = 0; p < c.in_length; ++p) {
      const uint8_t code = bases[i * c.in_length + p];
      for (int64_t ch = 0; ch < 4; ++ch)
        onehot[(i * 4 + ch) * c.in_length + p] = code < 4 ? T(code == ch) : T(0.25);
    }
  }
  const auto dy = random_vector<T>(c.batch * c.out_channels * lout, 5);
  const SampleRows<T> gr{dy.data(), c.out_channels * lout, 1, lout};
  std::vector<T> dense(c.batch);
  cpu::per_sample_norm_conv1d<T>({}, c, onehot.data(), gr, NormMethod::kMaterialized, dense.data());
  for (NormMethod m : {NormMethod::kGhost, NormMethod::kMaterialized, NormMethod::kInputGram}) {
    std::vector<T> out(c.batch, T(-1));
    cpu::per_sample_norm_bases<T>({}, c, bases.data(), gr, m, out.data());
    EXPECT_TRUE(all_close(out, dense, tol<T>(), 0)) << norm_method_name(m);
  }
}

TYPED_TEST(PerSampleNormTest, BiasNormIsTheSquaredSumOverPositions) {
  using T = TypeParam;
  const PerSampleShape s{4, 6, 1, 3};
  const auto g = random_vector<T>(s.batch * s.positions * s.out_dim, 6);
  std::vector<T> out(s.batch, T(-1));
  cpu::per_sample_bias_norm<T>({}, s, {g.data(), s.positions * s.out_dim, s.out_dim, 1},
                               out.data());
  std::vector<double> expected(s.batch);
  for (int64_t i = 0; i < s.batch; ++i) {
    for (int64_t o = 0; o < s.out_dim; ++o) {
      double v = 0;
      for (int64_t t = 0; t < s.positions; ++t) v += g[(i * s.positions + t) * s.out_dim + o];
      expected[i] += v * v;
    }
  }
  EXPECT_TRUE(all_close(out, expected, tol<T>(), 0));
}

TEST(PerSampleNormCostModel, GhostForShortSequencesMaterializedForLong) {
  EXPECT_EQ(choose_norm_method({32, 1, 1000, 100}), NormMethod::kGhost);  // Linear
  EXPECT_EQ(choose_norm_method({32, 1000, 4 * 8, 320}), NormMethod::kMaterialized);
  EXPECT_EQ(choose_norm_method({32, 10, 320, 1280}), NormMethod::kGhost);
  EXPECT_LT(ghost_cost({2, 3, 4, 5}), materialized_cost({2, 300, 4, 5}));
}

// The input Gram pays where the kernel is wide and the sequence not much longer than the
// output (mid layers); materialized keeps long one-hot first layers; ghost stays for dense rows.
TEST(PerSampleNormCostModel, InputGramForConvolutionMidLayers) {
  const Conv1dShape deepsea2{64, 320, 480, 248, 8};
  EXPECT_EQ(choose_conv_norm_method(deepsea2, false), NormMethod::kInputGram);
  EXPECT_LT(input_gram_cost(deepsea2, false), ghost_cost(conv_per_sample_shape(deepsea2)) / 3);
  const Conv1dShape basset2 = with_same_padding({64, 300, 200, 200, 11});
  EXPECT_EQ(choose_conv_norm_method(basset2, false), NormMethod::kInputGram);
  // Bases need no input Gram: cheaper than ghost's unfolded one-hot rows (4K per pair)...
  const Conv1dShape short_bases{64, 4, 320, 27, 8};
  EXPECT_LT(input_gram_cost(short_bases, true), ghost_cost(conv_per_sample_shape(short_bases)));
  EXPECT_LT(input_gram_cost(short_bases, true), input_gram_cost(short_bases, false));
  // ... and on DeepSEA's long first layer, materialized (T^2 C_out > T 4K C_out).
  EXPECT_EQ(choose_conv_norm_method({64, 4, 320, 1000, 8}, true), NormMethod::kMaterialized);
  // A large stride makes the input Gram (L_in^2) dearer than ghost's unfolded rows.
  EXPECT_NE(choose_conv_norm_method({8, 64, 8, 4000, 2, 20}, false), NormMethod::kInputGram);
  EXPECT_STREQ(norm_method_name(NormMethod::kInputGram), "input_gram");
}

TEST(PerSampleNormErrors, BadShapesAreNamed) {
  std::vector<float> out(1), a(1), g(1);
  EXPECT_THAT(
      [&] {
        cpu::per_sample_norm_dense<float>({}, {1, 0, 1, 1}, {a.data(), 1, 1, 1},
                                          {g.data(), 1, 1, 1}, NormMethod::kGhost, out.data());
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("positions (0)")));
  Conv1dShape c;
  c.in_channels = 4, c.out_channels = 4, c.groups = 2, c.in_length = 4;
  EXPECT_THAT([&] { conv_per_sample_shape(c); },
              ::testing::ThrowsMessage<Error>(HasSubstr("groups == 1")));
}

}  // namespace
}  // namespace strand::kernels
