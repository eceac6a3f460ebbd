// CPU conv1d: hand-computed cases, float64 finite-difference gradients, reference against the fast
// im2col + GEMM path over the shape sweep, and clear errors for bad shapes and pointers.
#include "kernels/conv1d/conv1d.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "tests/kernels/conv1d_test_shapes.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using strand::testing::abs_max;
using strand::testing::all_close;
using strand::testing::random_vector;
using ::testing::HasSubstr;

constexpr Conv1dCpuAlgo kAlgos[] = {Conv1dCpuAlgo::kReference, Conv1dCpuAlgo::kFast};

const char* name(Conv1dCpuAlgo a) { return a == Conv1dCpuAlgo::kFast ? "fast" : "reference"; }

template <typename T>
std::vector<T> forward(const Conv1dShape& s, const std::vector<T>& x, const std::vector<T>& w,
                       const std::vector<T>* bias, Conv1dCpuAlgo algo) {
  std::vector<T> y(s.y_numel(), T(-7));
  cpu::conv1d_forward<T>({}, s, x.data(), w.data(), bias ? bias->data() : nullptr, y.data(), algo);
  return y;
}

TEST(Conv1dShape, HostileSizesAreErrorsNotOverflow) {
  Conv1dShape dilated{1, 4, 8, 100, 3};
  dilated.dilation = int64_t{1} << 62;
  EXPECT_THAT([&] { dilated.validate(); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("does not fit in 64 bits")));
  const Conv1dShape wide{int64_t{1} << 40, int64_t{1} << 40, 8, 100, 3};
  EXPECT_THAT([&] { wide.validate(); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("too large for 32-bit")));
}

TEST(Conv1dShape, OutLengthFollowsThePyTorchFormula) {
  EXPECT_EQ((Conv1dShape{1, 1, 1, 10, 3}).out_length(), 8);
  EXPECT_EQ((Conv1dShape{1, 1, 1, 10, 3, 2}).out_length(), 4);
  EXPECT_EQ((Conv1dShape{1, 1, 1, 10, 3, 1, 1, 1}).out_length(), 10);
  EXPECT_EQ((Conv1dShape{1, 1, 1, 10, 3, 1, 0, 0, 4}).out_length(), 2);
  EXPECT_EQ((Conv1dShape{1, 1, 1, 7, 4, 3, 2, 0}).out_length(), 2);
  const Conv1dShape same = with_same_padding({1, 1, 1, 10, 8, 1, 0, 0, 2});
  EXPECT_EQ(same.pad_left, 7);
  EXPECT_EQ(same.pad_right, 7);
  EXPECT_EQ(same.out_length(), 10);
  const Conv1dShape even = with_same_padding({1, 1, 1, 10, 8});
  EXPECT_EQ(even.pad_left, 3);
  EXPECT_EQ(even.pad_right, 4);
  EXPECT_EQ(even.out_length(), 10);
  EXPECT_DOUBLE_EQ((Conv1dShape{2, 4, 6, 10, 3, 1, 0, 0, 1, 2}).flops(), 2.0 * 2 * 6 * 8 * 2 * 3);
}

TEST(Conv1dShape, BadShapesSayWhatIsWrong) {
  auto message = [](const Conv1dShape& s) {
    try {
      s.validate();
    } catch (const Error& e) {
      return e.message();
    }
    return std::string("no error");
  };
  EXPECT_THAT(message({1, 4, 8, 5, 7}), HasSubstr("kernel longer than padded input"));
  EXPECT_THAT(message({1, 4, 8, 5, 3, 1, 0, 0, 3}), HasSubstr("kernel longer than padded input"));
  EXPECT_THAT(message({1, 6, 8, 10, 3, 1, 0, 0, 1, 4}),
              HasSubstr("in_channels 6 is not divisible by groups 4"));
  EXPECT_THAT(message({1, 8, 6, 10, 3, 1, 0, 0, 1, 4}),
              HasSubstr("out_channels 6 is not divisible by groups 4"));
  EXPECT_THAT(message({0, 4, 8, 10, 3}), HasSubstr("batch must be positive, got 0"));
  EXPECT_THAT(message({1, 0, 8, 10, 3}), HasSubstr("in_channels must be positive"));
  EXPECT_THAT(message({1, 4, -1, 10, 3}), HasSubstr("out_channels must be positive"));
  EXPECT_THAT(message({1, 4, 8, 0, 3}), HasSubstr("in_length must be positive"));
  EXPECT_THAT(message({1, 4, 8, 10, 0}), HasSubstr("kernel_size must be positive"));
  EXPECT_THAT(message({1, 4, 8, 10, 3, 0}), HasSubstr("stride must be positive"));
  EXPECT_THAT(message({1, 4, 8, 10, 3, 1, 0, 0, 0}), HasSubstr("dilation must be positive"));
  EXPECT_THAT(message({1, 4, 8, 10, 3, 1, 0, 0, 1, 0}), HasSubstr("groups must be positive"));
  EXPECT_THAT(message({1, 4, 8, 10, 3, 1, -1, 0}), HasSubstr("padding must be non-negative"));
  EXPECT_THAT(message({1 << 20, 64, 64, 1 << 10, 3}), HasSubstr("too large for 32-bit"));
  EXPECT_EQ(message({1, 4, 8, 5, 7, 1, 1, 1}), "no error");
}

TEST(Conv1dCpu, NullPointersAreRejected) {
  const Conv1dShape s{1, 2, 2, 5, 3};
  std::vector<float> x(s.x_numel()), w(s.w_numel()), y(s.y_numel());
  try {
    cpu::conv1d_forward<float>({}, s, x.data(), nullptr, nullptr, y.data());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("conv1d_forward: w is null"));
  }
  EXPECT_THROW(cpu::conv1d_backward_data<float>({}, s, nullptr, w.data(), x.data()), Error);
  EXPECT_THROW(cpu::conv1d_backward_weight<float>({}, s, x.data(), y.data(), nullptr), Error);
  EXPECT_THROW(cpu::conv1d_backward_bias<float>({}, s, y.data(), nullptr), Error);
}

TEST(Conv1dCpu, BadShapeIsRejectedBeforeAnyWork) {
  const Conv1dShape s{1, 3, 4, 5, 3, 1, 0, 0, 1, 2};
  std::vector<float> buf(64);
  try {
    cpu::conv1d_forward<float>({}, s, buf.data(), buf.data(), nullptr, buf.data());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("not divisible by groups"));
  }
}

template <typename T>
class Conv1dCpuTyped : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Conv1dCpuTyped, FloatTypes);

TYPED_TEST(Conv1dCpuTyped, HandComputedPaddedDifference) {
  using T = TypeParam;
  // y[t] = x[t-1] - x[t+1] + 0.5 with one zero on each side.
  const Conv1dShape s{1, 1, 1, 5, 3, 1, 1, 1};
  const std::vector<T> x{1, 2, 3, 4, 5}, w{1, 0, -1}, b{0.5};
  for (auto algo : kAlgos) {
    EXPECT_EQ(forward(s, x, w, &b, algo), (std::vector<T>{-1.5, -1.5, -1.5, -1.5, 4.5}))
        << name(algo);
    // dx[i] = dy[i+1] - dy[i-1] for dy = 1: edges see only one tap.
    std::vector<T> dy(5, T(1)), dx(5), dw(3), db(1, T(10));
    cpu::conv1d_backward_data<T>({}, s, dy.data(), w.data(), dx.data(), algo);
    EXPECT_EQ(dx, (std::vector<T>{1, 0, 0, 0, -1})) << name(algo);
    cpu::conv1d_backward_weight<T>({}, s, x.data(), dy.data(), dw.data(), false, algo);
    EXPECT_EQ(dw, (std::vector<T>{10, 15, 14})) << name(algo);
    cpu::conv1d_backward_bias<T>({}, s, dy.data(), db.data(), true);
    EXPECT_EQ(db, (std::vector<T>{15}));
  }
}

TYPED_TEST(Conv1dCpuTyped, HandComputedStrideAndDilation) {
  using T = TypeParam;
  // K = 2, dilation 2, stride 2: y[t] = x[2t] + 2 x[2t+2].
  const Conv1dShape s{1, 1, 1, 7, 2, 2, 0, 0, 2};
  const std::vector<T> x{1, 2, 3, 4, 5, 6, 7}, w{1, 2};
  for (auto algo : kAlgos) {
    EXPECT_EQ(forward<T>(s, x, w, nullptr, algo), (std::vector<T>{7, 13, 19})) << name(algo);
    const std::vector<T> dy{1, 10, 100};
    std::vector<T> dx(7, T(-1)), dw(2);
    cpu::conv1d_backward_data<T>({}, s, dy.data(), w.data(), dx.data(), algo);
    EXPECT_EQ(dx, (std::vector<T>{1, 0, 12, 0, 120, 0, 200})) << name(algo);
    cpu::conv1d_backward_weight<T>({}, s, x.data(), dy.data(), dw.data(), false, algo);
    EXPECT_EQ(dw, (std::vector<T>{1 + 30 + 500, 3 + 50 + 700})) << name(algo);
  }
}

TYPED_TEST(Conv1dCpuTyped, HandComputedGroupsKeepChannelsApart) {
  using T = TypeParam;
  // Two groups of one channel, K = 1: y0 = 2 x0 + 1, y1 = 3 x1 - 1.
  const Conv1dShape s{1, 2, 2, 3, 1, 1, 0, 0, 1, 2};
  const std::vector<T> x{1, 2, 3, 4, 5, 6}, w{2, 3}, b{1, -1};
  for (auto algo : kAlgos) {
    EXPECT_EQ(forward(s, x, w, &b, algo), (std::vector<T>{3, 5, 7, 11, 14, 17})) << name(algo);
  }
}

TYPED_TEST(Conv1dCpuTyped, FastMatchesReferenceOverTheSweep) {
  using T = TypeParam;
  const double tol = sizeof(T) == 4 ? 2e-6 : 1e-13;
  uint64_t seed = 100;
  for (const Conv1dShape& s : strand::testing::conv1d_sweep_shapes()) {
    SCOPED_TRACE(s.to_string());
    const auto x = random_vector<T>(s.x_numel(), ++seed);
    const auto w = random_vector<T>(s.w_numel(), ++seed);
    const auto b = random_vector<T>(s.out_channels, ++seed);
    const auto dy = random_vector<T>(s.y_numel(), ++seed);
    const auto y_ref = forward(s, x, w, &b, Conv1dCpuAlgo::kReference);
    const auto y_fast = forward(s, x, w, &b, Conv1dCpuAlgo::kFast);
    EXPECT_TRUE(all_close(y_fast, y_ref, tol, tol * abs_max(y_ref))) << "forward";
    EXPECT_TRUE(all_close(forward<T>(s, x, w, nullptr, Conv1dCpuAlgo::kFast),
                          forward<T>(s, x, w, nullptr, Conv1dCpuAlgo::kReference), tol,
                          tol * abs_max(y_ref)))
        << "forward without bias";

    std::vector<T> dx_ref(s.x_numel()), dx_fast(s.x_numel(), T(-9));
    cpu::conv1d_backward_data<T>({}, s, dy.data(), w.data(), dx_ref.data(),
                                 Conv1dCpuAlgo::kReference);
    cpu::conv1d_backward_data<T>({}, s, dy.data(), w.data(), dx_fast.data());
    EXPECT_TRUE(all_close(dx_fast, dx_ref, tol, tol * abs_max(dx_ref))) << "backward_data";

    // Accumulation adds to what is there; without it, old contents are ignored.
    const auto dw0 = random_vector<T>(s.w_numel(), ++seed);
    std::vector<T> dw_ref = dw0, dw_fast = dw0, dw_fresh(s.w_numel(), T(123));
    cpu::conv1d_backward_weight<T>({}, s, x.data(), dy.data(), dw_ref.data(), true,
                                   Conv1dCpuAlgo::kReference);
    cpu::conv1d_backward_weight<T>({}, s, x.data(), dy.data(), dw_fast.data(), true);
    EXPECT_TRUE(all_close(dw_fast, dw_ref, tol, tol * abs_max(dw_ref))) << "backward_weight";
    cpu::conv1d_backward_weight<T>({}, s, x.data(), dy.data(), dw_fresh.data(), false);
    for (size_t i = 0; i < dw_fresh.size(); ++i) dw_fresh[i] += dw0[i];
    EXPECT_TRUE(all_close(dw_fresh, dw_ref, tol, tol * abs_max(dw_ref))) << "overwrite";
  }
}

// <dy, y(x + e u) - y(x - e u)> / 2e against the analytic gradients, every element, in float64.
TEST(Conv1dCpu, GradientsMatchFiniteDifferences) {
  const std::vector<Conv1dShape> shapes = {
      {2, 3, 4, 9, 3, 1, 1, 1, 1, 1},
      {2, 4, 6, 11, 3, 2, 2, 1, 2, 2},
      {1, 4, 4, 8, 2, 1, 0, 1, 3, 4},
      {3, 2, 3, 6, 4, 3, 2, 2, 1, 1},
  };
  const double eps = 1e-6;
  uint64_t seed = 7;
  for (const Conv1dShape& s : shapes) {
    for (auto algo : kAlgos) {
      SCOPED_TRACE(s.to_string() + " " + name(algo));
      auto x = random_vector<double>(s.x_numel(), ++seed);
      auto w = random_vector<double>(s.w_numel(), ++seed);
      auto b = random_vector<double>(s.out_channels, ++seed);
      const auto dy = random_vector<double>(s.y_numel(), ++seed);
      auto loss = [&] {
        const auto y = forward(s, x, w, &b, algo);
        double acc = 0;
        for (size_t i = 0; i < y.size(); ++i) acc += y[i] * dy[i];
        return acc;
      };
      auto numeric = [&](std::vector<double>& v, size_t i) {
        const double keep = v[i];
        v[i] = keep + eps;
        const double up = loss();
        v[i] = keep - eps;
        const double down = loss();
        v[i] = keep;
        return (up - down) / (2 * eps);
      };
      std::vector<double> dx(s.x_numel()), dw(s.w_numel()), db(s.out_channels);
      cpu::conv1d_backward_data<double>({}, s, dy.data(), w.data(), dx.data(), algo);
      cpu::conv1d_backward_weight<double>({}, s, x.data(), dy.data(), dw.data(), false, algo);
      cpu::conv1d_backward_bias<double>({}, s, dy.data(), db.data());
      for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(dx[i], numeric(x, i), 1e-7) << "x " << i;
      for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(dw[i], numeric(w, i), 1e-7) << "w " << i;
      for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(db[i], numeric(b, i), 1e-7) << "b " << i;
    }
  }
}

}  // namespace
}  // namespace strand::kernels
