// CUDA reductions and softmax against the CPU kernels (reduce_test.cpp checks those against plain
// loops) on fresh random data with NaN-poisoned outputs, every element checked, in float, double
// and bf16: the one-block-per-row path (inner 1, rows longer than a block) and the
// thread-per-column path, the first extreme's index on ties, NaN propagation. Skips without a
// device.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reduce/reduce.h"
#include "kernels/reduce/softmax.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

template <typename T>
class ReduceCudaTest : public ::testing::Test {};
TYPED_TEST_SUITE(ReduceCudaTest, KernelTypes);

struct Split {
  int64_t outer, dim, inner;
};
// inner 1 takes the block-per-row path (rows of 1, 37 and 5000: shorter and longer than a
// block); inner > 1 the thread-per-column path.
const Split kSplits[] = {{1, 1, 1}, {7, 37, 1}, {3, 5000, 1}, {5, 1, 3}, {4, 33, 5}, {2, 300, 70}};

TYPED_TEST(ReduceCudaTest, SumMaxMinMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  uint64_t seed = 1;
  for (const Split& p : kSplits) {
    SCOPED_TRACE(::testing::Message() << p.outer << " x " << p.dim << " x " << p.inner);
    // Integers in [-4, 4]: every partial sum is exact in either accumulation type (float or
    // double), so the sums agree after their one rounding to T; max and min have ties, where the
    // first index must win on both devices; one NaN must propagate with its index.
    auto x = random_vector<T>(p.outer * p.dim * p.inner, ++seed, -4, 4);
    for (T& v : x) v = T(std::round(static_cast<double>(v)));
    if (x.size() > 10) x[10] = T(std::numeric_limits<float>::quiet_NaN());
    const int64_t n = p.outer * p.inner;
    DeviceBuffer<T> d_x(x);
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin}) {
      std::vector<T> out(n);
      std::vector<int64_t> index(n);
      cpu::reduce<T>({}, op, p.outer, p.dim, p.inner, x.data(), out.data(), index.data());
      DeviceBuffer<T> d_out(n);
      DeviceBuffer<int64_t> d_index(n);
      cuda::reduce<T>({}, op, p.outer, p.dim, p.inner, d_x.get(), d_out.get(), d_index.get());
      const double tol = kernel_tolerance<T>();
      EXPECT_TRUE(all_close(d_out.download(), to_double(out), tol, tol)) << static_cast<int>(op);
      if (op != ReduceOp::kSum) EXPECT_EQ(d_index.download(), index) << static_cast<int>(op);
    }
  }
}

TYPED_TEST(ReduceCudaTest, SoftmaxAndLogSoftmaxMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 100;
  for (const Split& p : kSplits) {
    for (bool log : {false, true}) {
      SCOPED_TRACE(::testing::Message() << p.outer << " x " << p.dim << " x " << p.inner
                                        << (log ? " log_softmax" : " softmax"));
      // Large logits: both devices must subtract the maximum first.
      const auto x = random_vector<T>(p.outer * p.dim * p.inner, ++seed, 80, 95);
      const auto dy = random_vector<T>(x.size(), ++seed);
      std::vector<T> y(x.size()), dx(x.size());
      cpu::softmax<T>({}, log, p.outer, p.dim, p.inner, x.data(), y.data());
      cpu::softmax_backward<T>({}, log, p.outer, p.dim, p.inner, y.data(), dy.data(), dx.data());
      DeviceBuffer<T> d_x(x), d_dy(dy), d_y_cpu(y), d_y(x.size()), d_dx(x.size());
      cuda::softmax<T>({}, log, p.outer, p.dim, p.inner, d_x.get(), d_y.get());
      // The backward pass gets the CPU's y, so only its own arithmetic is compared.
      cuda::softmax_backward<T>({}, log, p.outer, p.dim, p.inner, d_y_cpu.get(), d_dy.get(),
                                d_dx.get());
      // The device sums dim terms in float: the sums' error grows with sqrt(dim).
      const double sum_tol = tol * std::sqrt(static_cast<double>(p.dim));
      EXPECT_TRUE(all_close(d_y.download(), to_double(y), tol, tol)) << "forward";
      EXPECT_TRUE(all_close(d_dx.download(), to_double(dx), tol, sum_tol)) << "backward";
    }
  }
}

}  // namespace
}  // namespace strand::kernels
