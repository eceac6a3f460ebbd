// CPU 1D max and average pooling against plain loops over each window written from PyTorch's
// definitions (padding is -inf for max, counted as zeros for average), forward and backward, in
// float, double and bf16: kernel 1, kernel = length, stride above the kernel (gaps), padding,
// odd lengths, one row; the first maximum and the first NaN win; bad shapes raise errors.
#include "kernels/pool/pool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tests/kernels/kernel_test_support.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

const std::vector<Pool1dShape>& shapes() {
  // rows, length, kernel, stride, padding
  static const std::vector<Pool1dShape> s = {
      {1, 1, 1, 1, 0},  {3, 7, 1, 1, 0},  {2, 9, 9, 1, 0},   {4, 17, 3, 2, 1},  {5, 20, 4, 4, 0},
      {2, 23, 2, 5, 0}, {3, 31, 5, 3, 2}, {6, 101, 4, 3, 2}, {1, 13, 13, 4, 6},
  };
  return s;
}

// Window t covers positions [t * stride - padding, ... + kernel).
int64_t first_pos(const Pool1dShape& s, int64_t t) { return t * s.stride - s.padding; }

template <typename T>
class PoolTest : public ::testing::Test {};
TYPED_TEST_SUITE(PoolTest, KernelTypes);

TYPED_TEST(PoolTest, MaxPoolingForwardAndBackward) {
  using T = TypeParam;
  uint64_t seed = 1;
  for (const Pool1dShape& s : shapes()) {
    SCOPED_TRACE(::testing::Message()
                 << "rows " << s.rows << " length " << s.length << " kernel " << s.kernel
                 << " stride " << s.stride << " padding " << s.padding);
    const int64_t out_len = s.out_length();
    EXPECT_EQ(out_len, (s.length + 2 * s.padding - s.kernel) / s.stride + 1);
    const auto x = random_vector<T>(s.rows * s.length, ++seed);
    std::vector<double> y_ref(s.rows * out_len);
    std::vector<int64_t> arg_ref(y_ref.size());
    for (int64_t r = 0; r < s.rows; ++r) {
      for (int64_t t = 0; t < out_len; ++t) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t arg = -1;
        for (int64_t k = 0; k < s.kernel; ++k) {
          const int64_t p = first_pos(s, t) + k;
          if (p < 0 || p >= s.length) continue;
          const double v = static_cast<double>(x[r * s.length + p]);
          if (v > best) best = v, arg = p;  // strict: the first maximum wins ties
        }
        y_ref[r * out_len + t] = best;
        arg_ref[r * out_len + t] = arg;
      }
    }
    std::vector<T> y(y_ref.size(), T(NAN));
    std::vector<int64_t> index(y_ref.size(), -7);
    cpu::max_pool1d<T>({}, s, x.data(), y.data(), index.data());
    EXPECT_TRUE(all_close(y, y_ref, 0, 0));
    EXPECT_EQ(index, arg_ref);

    const auto dy = random_vector<T>(y.size(), ++seed);
    std::vector<double> dx_ref(x.size(), 0.0);
    for (int64_t r = 0; r < s.rows; ++r)
      for (int64_t t = 0; t < out_len; ++t)
        dx_ref[r * s.length + arg_ref[r * out_len + t]] += static_cast<double>(dy[r * out_len + t]);
    std::vector<T> dx(x.size(), T(NAN));  // the kernel zeroes dx itself
    cpu::max_pool1d_backward<T>({}, s, dy.data(), index.data(), dx.data());
    // Overlapping windows that share a maximum add in T.
    EXPECT_TRUE(all_close(dx, dx_ref, kernel_tolerance<T>(), kernel_tolerance<T>()));
  }
}

TYPED_TEST(PoolTest, AveragePoolingCountsPaddingForwardAndBackward) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 50;
  for (const Pool1dShape& s : shapes()) {
    SCOPED_TRACE(::testing::Message()
                 << "rows " << s.rows << " length " << s.length << " kernel " << s.kernel
                 << " stride " << s.stride << " padding " << s.padding);
    const int64_t out_len = s.out_length();
    const auto x = random_vector<T>(s.rows * s.length, ++seed);
    const auto dy = random_vector<T>(s.rows * out_len, ++seed);
    std::vector<double> y_ref(s.rows * out_len, 0.0), dx_ref(x.size(), 0.0);
    for (int64_t r = 0; r < s.rows; ++r) {
      for (int64_t t = 0; t < out_len; ++t) {
        for (int64_t k = 0; k < s.kernel; ++k) {
          const int64_t p = first_pos(s, t) + k;
          if (p < 0 || p >= s.length) continue;  // padding adds zero but still counts
          y_ref[r * out_len + t] += static_cast<double>(x[r * s.length + p]) / s.kernel;
          dx_ref[r * s.length + p] += static_cast<double>(dy[r * out_len + t]) / s.kernel;
        }
      }
    }
    std::vector<T> y(y_ref.size(), T(NAN)), dx(x.size(), T(NAN));
    cpu::avg_pool1d<T>({}, s, x.data(), y.data());
    cpu::avg_pool1d_backward<T>({}, s, dy.data(), dx.data());
    EXPECT_TRUE(all_close(y, y_ref, tol, tol)) << "forward";
    EXPECT_TRUE(all_close(dx, dx_ref, tol, tol)) << "backward";
  }
}

TEST(PoolNaN, TheFirstNaNInAWindowWinsMaxPooling) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x{1, nan, 5, 2, 3, nan, nan, 0};
  const Pool1dShape s{1, 8, 4, 4, 0};  // windows [0, 4) and [4, 8)
  std::vector<float> y(2);
  std::vector<int64_t> index(2);
  cpu::max_pool1d<float>({}, s, x.data(), y.data(), index.data());
  EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[1]));
  EXPECT_EQ(index, (std::vector<int64_t>{1, 5}));
}

TEST(PoolShape, BadShapesRaiseErrorsNamingTheValue) {
  std::vector<float> x(16), y(16);
  std::vector<int64_t> index(16);
  STRAND_EXPECT_ERROR(cpu::max_pool1d<float>({}, {1, 8, 0, 1, 0}, x.data(), y.data(), index.data()),
                      "pool1d: kernel 0 and stride 1 must be positive and padding 0 non-negative");
  STRAND_EXPECT_ERROR(cpu::avg_pool1d<float>({}, {1, 8, 2, 0, 0}, x.data(), y.data()),
                      "kernel 2 and stride 0 must be positive");
  STRAND_EXPECT_ERROR(cpu::avg_pool1d<float>({}, {1, 8, 3, 1, -1}, x.data(), y.data()),
                      "padding -1 non-negative");
  STRAND_EXPECT_ERROR(
      cpu::max_pool1d<double>({}, {1, 8, 3, 1, 2}, reinterpret_cast<const double*>(x.data()),
                              reinterpret_cast<double*>(y.data()), index.data()),
      "pool1d: padding 2 must be at most half the kernel size 3");
  STRAND_EXPECT_ERROR(cpu::avg_pool1d<float>({}, {1, 5, 8, 1, 1}, x.data(), y.data()),
                      "pool1d: kernel 8 is longer than the padded input (5 + 2 x 1)");
  EXPECT_NO_THROW(check_pool1d({1, 6, 8, 1, 1}));  // 6 + 2 covers the kernel exactly
}

}  // namespace
}  // namespace strand::kernels
