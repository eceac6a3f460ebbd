// CPU elementwise kernels against plain double-precision formulas written here: every unary op
// and its derivative, every binary op over broadcast and strided operands, strided copies, and
// binary cross-entropy with logits (with and without pos_weight), in float, double and bf16, at
// sizes 0, 1, odd and above the parallel threshold.
#include "kernels/elementwise/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tests/kernels/kernel_test_support.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct UnaryCase {
  std::string name;
  UnaryOp op;
  double p0, p1;
  double lo, hi;  // input range (positive where the op needs it)
  std::function<double(double)> value, slope;
};

std::vector<UnaryCase> unary_cases() {
  const double pi = 3.141592653589793;
  return {
      {"neg", UnaryOp::kNeg, 0, 0, -3, 3, [](double x) { return -x; }, [](double) { return -1.0; }},
      {"exp", UnaryOp::kExp, 0, 0, -3, 3, [](double x) { return std::exp(x); },
       [](double x) { return std::exp(x); }},
      {"log", UnaryOp::kLog, 0, 0, 0.1, 5, [](double x) { return std::log(x); },
       [](double x) { return 1 / x; }},
      {"sqrt", UnaryOp::kSqrt, 0, 0, 0.1, 5, [](double x) { return std::sqrt(x); },
       [](double x) { return 0.5 / std::sqrt(x); }},
      {"abs", UnaryOp::kAbs, 0, 0, -3, 3, [](double x) { return std::abs(x); },
       [](double x) { return x > 0 ? 1.0 : -1.0; }},
      {"relu", UnaryOp::kRelu, 0, 0, -3, 3, [](double x) { return x > 0 ? x : 0.0; },
       [](double x) { return x > 0 ? 1.0 : 0.0; }},
      {"sigmoid", UnaryOp::kSigmoid, 0, 0, -8, 8, sigmoid,
       [](double x) { return sigmoid(x) * (1 - sigmoid(x)); }},
      {"tanh", UnaryOp::kTanh, 0, 0, -4, 4, [](double x) { return std::tanh(x); },
       [](double x) { return 1 / (std::cosh(x) * std::cosh(x)); }},
      {"gelu", UnaryOp::kGelu, 0, 0, -4, 4,
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); },
       [pi](double x) {
         return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) +
                x * std::exp(-0.5 * x * x) / std::sqrt(2 * pi);
       }},
      // Beyond 20 softplus is the identity (PyTorch's threshold): the range crosses it.
      {"softplus", UnaryOp::kSoftplus, 0, 0, -10, 25,
       [](double x) { return x > 20 ? x : std::log1p(std::exp(x)); },
       [](double x) { return x > 20 ? 1.0 : sigmoid(x); }},
      {"clamp", UnaryOp::kClamp, -0.5, 0.7, -2, 2,
       [](double x) { return std::clamp(x, -0.5, 0.7); },
       [](double x) { return x >= -0.5 && x <= 0.7 ? 1.0 : 0.0; }},
      {"add_scalar", UnaryOp::kAddScalar, 1.5, 0, -3, 3, [](double x) { return x + 1.5; },
       [](double) { return 1.0; }},
      {"mul_scalar", UnaryOp::kMulScalar, -2.5, 0, -3, 3, [](double x) { return x * -2.5; },
       [](double) { return -2.5; }},
      {"pow_scalar", UnaryOp::kPowScalar, 1.5, 0, 0.1, 4, [](double x) { return std::pow(x, 1.5); },
       [](double x) { return 1.5 * std::sqrt(x); }},
      {"rsub_scalar", UnaryOp::kRsubScalar, 2, 0, -3, 3, [](double x) { return 2 - x; },
       [](double) { return -1.0; }},
      {"rdiv_scalar", UnaryOp::kRdivScalar, 3, 0, 0.2, 4, [](double x) { return 3 / x; },
       [](double x) { return -3 / (x * x); }},
  };
}

template <typename T>
class ElementwiseTest : public ::testing::Test {};
TYPED_TEST_SUITE(ElementwiseTest, KernelTypes);

// 0 and 1 elements, odd, and above the CPU kernels' parallel threshold (1 << 15).
constexpr int64_t kSizes[] = {0, 1, 37, (1 << 15) + 3};

TYPED_TEST(ElementwiseTest, UnaryOpsAndTheirSlopesMatchThePlainFormulas) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 100;
  for (const UnaryCase& c : unary_cases()) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(c.name + " n " + std::to_string(n));
      const auto x = random_vector<T>(n, ++seed, c.lo, c.hi);
      const auto dy = random_vector<T>(n, ++seed);
      std::vector<double> y_ref(n), dx_ref(n);
      for (int64_t i = 0; i < n; ++i) {
        const double xi = static_cast<double>(x[i]);
        y_ref[i] = c.value(xi);
        dx_ref[i] = static_cast<double>(dy[i]) * c.slope(xi);
      }
      std::vector<T> y(n, T(NAN));
      cpu::unary<T>({}, c.op, n, x.data(), y.data(), c.p0, c.p1);
      EXPECT_TRUE(all_close(y, y_ref, tol, tol)) << "forward";
      // The backward pass gets y as the forward pass saved it (rounded to T), so the slopes that
      // read y see that rounding: compare at the same tolerance, scaled by the slope's size.
      std::vector<T> dx(n, T(NAN));
      cpu::unary_backward<T>({}, c.op, n, dy.data(), x.data(), y.data(), dx.data(), c.p0, c.p1);
      EXPECT_TRUE(all_close(dx, dx_ref, 4 * tol, 4 * tol)) << "backward";
    }
  }
}

// The iteration space of out[d0, d1] = a op b with each operand's element strides.
StridedIter<3> iter2(int64_t d0, int64_t d1, std::array<std::array<int64_t, 2>, 3> strides) {
  StridedIter<3> it;
  it.ndim = 2, it.numel = d0 * d1;
  it.sizes[0] = d0, it.sizes[1] = d1;
  for (int k = 0; k < 3; ++k) it.strides[k][0] = strides[k][0], it.strides[k][1] = strides[k][1];
  return it;
}

double binary_reference(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd:
      return a + b;
    case BinaryOp::kSub:
      return a - b;
    case BinaryOp::kMul:
      return a * b;
    case BinaryOp::kDiv:
      return a / b;
    case BinaryOp::kPow:
      return std::pow(a, b);
    case BinaryOp::kMaximum:
      return std::max(a, b);
    case BinaryOp::kMinimum:
      return std::min(a, b);
    case BinaryOp::kGe:
      return a >= b ? 1 : 0;
  }
  return NAN;
}

TYPED_TEST(ElementwiseTest, BinaryOpsOverBroadcastAndStridedOperands) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  struct Layout {
    const char* name;
    int64_t d0, d1;
    std::array<std::array<int64_t, 2>, 3> strides;  // out, a, b
    int64_t a_size, b_size;
  };
  const Layout layouts[] = {
      {"contiguous", 1, 1001, {{{1001, 1}, {1001, 1}, {1001, 1}}}, 1001, 1001},
      {"long contiguous row",
       1,
       (1 << 15) + 5,
       {{{0, 1}, {0, 1}, {0, 1}}},
       (1 << 15) + 5,
       (1 << 15) + 5},
      {"b broadcast along rows", 7, 9, {{{9, 1}, {9, 1}, {0, 1}}}, 63, 9},
      {"b a column", 7, 9, {{{9, 1}, {9, 1}, {1, 0}}}, 63, 7},
      {"a a scalar", 5, 3, {{{3, 1}, {0, 0}, {3, 1}}}, 1, 15},
      {"a transposed", 6, 5, {{{5, 1}, {1, 6}, {5, 1}}}, 30, 30},
      {"out and b strided", 4, 3, {{{6, 2}, {3, 1}, {1, 4}}}, 12, 12},
      {"single element", 1, 1, {{{1, 1}, {1, 1}, {1, 1}}}, 1, 1},
  };
  const BinaryOp ops[] = {BinaryOp::kAdd, BinaryOp::kSub,     BinaryOp::kMul,     BinaryOp::kDiv,
                          BinaryOp::kPow, BinaryOp::kMaximum, BinaryOp::kMinimum, BinaryOp::kGe};
  uint64_t seed = 300;
  for (const Layout& l : layouts) {
    const StridedIter<3> it = iter2(l.d0, l.d1, l.strides);
    // Positive operands keep pow and div finite; ties (a == b) come from bf16 rounding.
    const auto a = random_vector<T>(l.a_size, ++seed, 0.5, 2.0);
    const auto b = random_vector<T>(l.b_size, ++seed, 0.5, 2.0);
    const int64_t out_size = (l.d0 - 1) * l.strides[0][0] + (l.d1 - 1) * l.strides[0][1] + 1;
    for (BinaryOp op : ops) {
      SCOPED_TRACE(std::string(l.name) + " op " + std::to_string(static_cast<int>(op)));
      // Elements the iteration does not cover must stay untouched: fill them with a sentinel.
      std::vector<T> out(out_size, T(-7.0));
      std::vector<double> expected(out_size, -7.0);
      for (int64_t i = 0; i < l.d0; ++i) {
        for (int64_t j = 0; j < l.d1; ++j) {
          const double av = static_cast<double>(a[i * l.strides[1][0] + j * l.strides[1][1]]);
          const double bv = static_cast<double>(b[i * l.strides[2][0] + j * l.strides[2][1]]);
          expected[i * l.strides[0][0] + j * l.strides[0][1]] = binary_reference(op, av, bv);
        }
      }
      cpu::binary<T>({}, op, it, a.data(), b.data(), out.data());
      EXPECT_TRUE(all_close(out, expected, tol, tol));
    }
  }
}

TEST(ElementwiseCopy, StridedCopyMakesTransposedAndBroadcastDataContiguous) {
  // in is [3, 4] stored transposed (strides 1, 3); out [3, 4] contiguous.
  std::vector<uint32_t> in(12);
  for (uint32_t i = 0; i < 12; ++i) in[i] = 100 + i;
  StridedIter<2> it;
  it.ndim = 2, it.numel = 12, it.sizes[0] = 3, it.sizes[1] = 4;
  it.strides[0][0] = 4, it.strides[0][1] = 1, it.strides[1][0] = 1, it.strides[1][1] = 3;
  std::vector<uint32_t> out(12, 0);
  cpu::strided_copy<uint32_t>({}, it, in.data(), out.data());
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(out[i * 4 + j], in[i + j * 3]) << i << "," << j;

  // A broadcast row (stride 0) into 2-byte elements.
  std::vector<uint16_t> row{7, 8, 9}, wide(6, 0);
  it.sizes[0] = 2, it.sizes[1] = 3, it.numel = 6;
  it.strides[0][0] = 3, it.strides[0][1] = 1, it.strides[1][0] = 0, it.strides[1][1] = 1;
  cpu::strided_copy<uint16_t>({}, it, row.data(), wide.data());
  EXPECT_EQ(wide, (std::vector<uint16_t>{7, 8, 9, 7, 8, 9}));
}

TYPED_TEST(ElementwiseTest, BinaryCrossEntropyWithLogitsMatchesTheDefinition) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  const int64_t tasks = 5;
  for (int64_t rows : {1, 3, 7000}) {
    const int64_t n = rows * tasks;
    // Logits far out in both tails: the stable formula must not overflow.
    const auto x = random_vector<T>(n, 40 + rows, -30.0, 30.0);
    const auto y = random_vector<T>(n, 50 + rows, 0.0, 1.0);
    const auto w = random_vector<T>(tasks, 60 + rows, 0.5, 3.0);
    const auto dl = random_vector<T>(n, 70 + rows);
    for (bool weighted : {false, true}) {
      SCOPED_TRACE(std::to_string(rows) + (weighted ? " rows, weighted" : " rows"));
      std::vector<double> loss_ref(n), dx_ref(n);
      for (int64_t i = 0; i < n; ++i) {
        const double xi = static_cast<double>(x[i]), yi = static_cast<double>(y[i]);
        const double wi = weighted ? static_cast<double>(w[i % tasks]) : 1.0;
        // -[w y log s(x) + (1 - y) log(1 - s(x))], with log s(x) = -log(1 + e^-x).
        const double log_s = -std::log1p(std::exp(-xi)), log_1ms = -std::log1p(std::exp(xi));
        loss_ref[i] = -(wi * yi * log_s + (1 - yi) * log_1ms);
        dx_ref[i] = static_cast<double>(dl[i]) * ((1 - yi) * sigmoid(xi) - wi * yi * sigmoid(-xi));
      }
      std::vector<T> loss(n, T(NAN)), dx(n, T(NAN));
      const T* wp = weighted ? w.data() : nullptr;
      cpu::bce_with_logits<T>({}, n, tasks, x.data(), y.data(), wp, loss.data());
      cpu::bce_with_logits_backward<T>({}, n, tasks, x.data(), y.data(), wp, dl.data(), dx.data());
      EXPECT_TRUE(all_close(loss, loss_ref, tol, tol)) << "loss";
      EXPECT_TRUE(all_close(dx, dx_ref, tol, tol)) << "gradient";
    }
  }
}

}  // namespace
}  // namespace strand::kernels
