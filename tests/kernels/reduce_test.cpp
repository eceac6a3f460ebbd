// CPU reductions (reduce.h) and softmax (softmax.h) along the middle of [outer, dim, inner]
// against plain loops: sum, max and min with the index of the first extreme, NaN propagation,
// softmax and log-softmax (stable for large inputs), and their backward passes against the
// explicit Jacobian-vector product, in float, double and bf16, with dim, outer or inner 1.
#include "kernels/reduce/reduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reduce/softmax.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

struct Split {
  int64_t outer, dim, inner;
};
const Split kSplits[] = {{1, 1, 1}, {1, 37, 1}, {5, 1, 3},    {3, 8, 1},
                         {1, 9, 4}, {4, 33, 5}, {2, 1030, 1}, {40, 40, 40}};

int64_t at(const Split& p, int64_t o, int64_t d, int64_t i) {
  return (o * p.dim + d) * p.inner + i;
}

template <typename T>
class ReduceTest : public ::testing::Test {};
TYPED_TEST_SUITE(ReduceTest, KernelTypes);

TYPED_TEST(ReduceTest, SumMaxMinAndTheirIndices) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 1;
  for (const Split& p : kSplits) {
    SCOPED_TRACE(::testing::Message() << p.outer << " x " << p.dim << " x " << p.inner);
    // Few distinct values, so max and min have ties and the first one must win.
    auto x = random_vector<T>(p.outer * p.dim * p.inner, ++seed, -4, 4);
    for (T& v : x) v = T(std::round(static_cast<double>(v)));
    const int64_t n = p.outer * p.inner;
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin}) {
      std::vector<double> expected(n);
      std::vector<int64_t> arg(n);
      for (int64_t o = 0; o < p.outer; ++o) {
        for (int64_t i = 0; i < p.inner; ++i) {
          double acc = op == ReduceOp::kSum ? 0.0 : static_cast<double>(x[at(p, o, 0, i)]);
          int64_t best = 0;
          for (int64_t d = 0; d < p.dim; ++d) {
            const double v = static_cast<double>(x[at(p, o, d, i)]);
            if (op == ReduceOp::kSum) acc += v;
            if ((op == ReduceOp::kMax && v > acc) || (op == ReduceOp::kMin && v < acc))
              acc = v, best = d;
          }
          expected[o * p.inner + i] = acc;
          arg[o * p.inner + i] = best;
        }
      }
      std::vector<T> out(n, T(NAN));
      std::vector<int64_t> index(n, -1);
      cpu::reduce<T>({}, op, p.outer, p.dim, p.inner, x.data(), out.data(),
                     op == ReduceOp::kSum ? nullptr : index.data());
      EXPECT_TRUE(all_close(out, expected, tol, tol)) << "op " << static_cast<int>(op);
      if (op != ReduceOp::kSum) EXPECT_EQ(index, arg) << "op " << static_cast<int>(op);
    }
  }
}

TEST(ReduceNaN, NaNPropagatesThroughMaxAndMinWithItsIndex) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // [1, 5, 2]: column 0 has a NaN at d = 2, column 1 at d = 4 (after its maximum).
  const std::vector<float> x{1, 4, 7, 2, nan, 9, 3, -1, 8, nan};
  for (ReduceOp op : {ReduceOp::kMax, ReduceOp::kMin, ReduceOp::kSum}) {
    std::vector<float> out(2);
    std::vector<int64_t> index(2, -1);
    cpu::reduce<float>({}, op, 1, 5, 2, x.data(), out.data(), index.data());
    EXPECT_TRUE(std::isnan(out[0])) << static_cast<int>(op);
    EXPECT_TRUE(std::isnan(out[1])) << "column 1 has its NaN at d = 4";
    if (op != ReduceOp::kSum) EXPECT_EQ(index, (std::vector<int64_t>{2, 4}));
  }
}

TYPED_TEST(ReduceTest, SoftmaxAndLogSoftmaxForwardAndBackward) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 100;
  for (const Split& p : kSplits) {
    for (bool log : {false, true}) {
      SCOPED_TRACE(::testing::Message() << p.outer << " x " << p.dim << " x " << p.inner
                                        << (log ? " log_softmax" : " softmax"));
      // Large inputs: exp overflows unless the maximum is subtracted first.
      auto x = random_vector<T>(p.outer * p.dim * p.inner, ++seed, 500, 510);
      const auto dy = random_vector<T>(x.size(), ++seed);
      std::vector<double> y_ref(x.size()), dx_ref(x.size());
      for (int64_t o = 0; o < p.outer; ++o) {
        for (int64_t i = 0; i < p.inner; ++i) {
          std::vector<double> e(p.dim);
          double sum = 0, max = -std::numeric_limits<double>::infinity();
          for (int64_t d = 0; d < p.dim; ++d) max = std::max(max, double(x[at(p, o, d, i)]));
          for (int64_t d = 0; d < p.dim; ++d)
            sum += e[d] = std::exp(double(x[at(p, o, d, i)]) - max);
          for (int64_t d = 0; d < p.dim; ++d) {
            const double s = e[d] / sum;  // softmax_d
            y_ref[at(p, o, d, i)] = log ? std::log(s) : s;
          }
          // dx_j = sum_d dy_d * J[d][j], J = diag(s) - s s^T (softmax) or I - 1 s^T (log).
          for (int64_t j = 0; j < p.dim; ++j) {
            double v = 0;
            for (int64_t d = 0; d < p.dim; ++d) {
              const double s_d = e[d] / sum, s_j = e[j] / sum;
              const double jac = log ? (d == j) - s_j : s_d * ((d == j) - s_j);
              v += double(dy[at(p, o, d, i)]) * jac;
            }
            dx_ref[at(p, o, j, i)] = v;
          }
        }
      }
      std::vector<T> y(x.size(), T(NAN)), dx(x.size(), T(NAN));
      cpu::softmax<T>({}, log, p.outer, p.dim, p.inner, x.data(), y.data());
      // log-softmax values are -log(dim)-sized; their rounding is relative to that size.
      EXPECT_TRUE(all_close(y, y_ref, tol, tol)) << "forward";
      cpu::softmax_backward<T>({}, log, p.outer, p.dim, p.inner, y.data(), dy.data(), dx.data());
      // The backward pass reads y as saved (rounded to T): its rounding enters every term of
      // the sum over dim, so the error grows with the row's gradient mass.
      EXPECT_TRUE(all_close(dx, dx_ref, 4 * tol, 4 * tol)) << "backward";
    }
  }
}

}  // namespace
}  // namespace strand::kernels
