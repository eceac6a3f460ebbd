// CUDA elementwise kernels against the CPU kernels (elementwise_test.cpp checks those against the
// formulas) on fresh random data with NaN-poisoned outputs, every element checked, in float,
// double and bf16: every unary op and slope, every binary op over contiguous, broadcast and
// strided operands, strided copies, BCE with logits. Skips without a device.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "kernels/elementwise/elementwise.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

template <typename T>
class ElementwiseCudaTest : public ::testing::Test {};
TYPED_TEST_SUITE(ElementwiseCudaTest, KernelTypes);

struct UnaryCase {
  UnaryOp op;
  double p0, p1, lo, hi;
};

TYPED_TEST(ElementwiseCudaTest, UnaryOpsAndSlopesMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  // CUDA's expf, erff, tanhf, powf are within 2 ulp, the host's within 1: a few ulp apart.
  const double tol = kernel_tolerance<T>();
  const UnaryCase cases[] = {
      {UnaryOp::kNeg, 0, 0, -3, 3},          {UnaryOp::kExp, 0, 0, -3, 3},
      {UnaryOp::kLog, 0, 0, 0.1, 5},         {UnaryOp::kSqrt, 0, 0, 0.1, 5},
      {UnaryOp::kAbs, 0, 0, -3, 3},          {UnaryOp::kRelu, 0, 0, -3, 3},
      {UnaryOp::kSigmoid, 0, 0, -8, 8},      {UnaryOp::kTanh, 0, 0, -4, 4},
      {UnaryOp::kGelu, 0, 0, -4, 4},         {UnaryOp::kSoftplus, 0, 0, -10, 25},
      {UnaryOp::kClamp, -0.5, 0.7, -2, 2},   {UnaryOp::kAddScalar, 1.5, 0, -3, 3},
      {UnaryOp::kMulScalar, -2.5, 0, -3, 3}, {UnaryOp::kPowScalar, 1.5, 0, 0.1, 4},
      {UnaryOp::kRsubScalar, 2, 0, -3, 3},   {UnaryOp::kRdivScalar, 3, 0, 0.2, 4},
  };
  uint64_t seed = 1;
  for (const UnaryCase& c : cases) {
    for (int64_t n : {1, 1001, 300007}) {
      SCOPED_TRACE("op " + std::to_string(static_cast<int>(c.op)) + " n " + std::to_string(n));
      const auto x = random_vector<T>(n, ++seed, c.lo, c.hi), dy = random_vector<T>(n, ++seed);
      std::vector<T> y(n), dx(n);
      cpu::unary<T>({}, c.op, n, x.data(), y.data(), c.p0, c.p1);
      cpu::unary_backward<T>({}, c.op, n, dy.data(), x.data(), y.data(), dx.data(), c.p0, c.p1);
      DeviceBuffer<T> d_x(x), d_y_cpu(y), d_dy(dy), d_y(n), d_dx(n);
      cuda::unary<T>({}, c.op, n, d_x.get(), d_y.get(), c.p0, c.p1);
      // The slope gets the CPU's y, so only the slope's own arithmetic is compared.
      cuda::unary_backward<T>({}, c.op, n, d_dy.get(), d_x.get(), d_y_cpu.get(), d_dx.get(), c.p0,
                              c.p1);
      EXPECT_TRUE(all_close(d_y.download(), to_double(y), tol, tol)) << "forward";
      EXPECT_TRUE(all_close(d_dx.download(), to_double(dx), tol, tol)) << "backward";
    }
  }
}

TYPED_TEST(ElementwiseCudaTest, BinaryOpsOverBroadcastAndStridedOperandsMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  struct Layout {
    int64_t d0, d1;
    std::array<std::array<int64_t, 2>, 3> strides;  // out, a, b
    int64_t a_size, b_size;
  };
  const Layout layouts[] = {
      {1, 300007, {{{0, 1}, {0, 1}, {0, 1}}}, 300007, 300007},  // contiguous
      {7, 9, {{{9, 1}, {9, 1}, {0, 1}}}, 63, 9},                // b broadcast along rows
      {5, 3, {{{3, 1}, {0, 0}, {3, 1}}}, 1, 15},                // a a scalar
      {6, 5, {{{5, 1}, {1, 6}, {5, 1}}}, 30, 30},               // a transposed
      {4, 3, {{{6, 2}, {3, 1}, {1, 4}}}, 12, 12},               // out and b strided
  };
  const BinaryOp ops[] = {BinaryOp::kAdd, BinaryOp::kSub,     BinaryOp::kMul,     BinaryOp::kDiv,
                          BinaryOp::kPow, BinaryOp::kMaximum, BinaryOp::kMinimum, BinaryOp::kGe};
  uint64_t seed = 100;
  for (const Layout& l : layouts) {
    StridedIter<3> it;
    it.ndim = 2, it.numel = l.d0 * l.d1, it.sizes[0] = l.d0, it.sizes[1] = l.d1;
    for (int k = 0; k < 3; ++k)
      it.strides[k][0] = l.strides[k][0], it.strides[k][1] = l.strides[k][1];
    const int64_t out_size = (l.d0 - 1) * l.strides[0][0] + (l.d1 - 1) * l.strides[0][1] + 1;
    const auto a = random_vector<T>(l.a_size, ++seed, 0.5, 2.0);
    const auto b = random_vector<T>(l.b_size, ++seed, 0.5, 2.0);
    DeviceBuffer<T> d_a(a), d_b(b);
    for (BinaryOp op : ops) {
      SCOPED_TRACE(::testing::Message() << l.d0 << " x " << l.d1 << " op " << static_cast<int>(op));
      // Elements outside the iteration stay as they were: start both sides from the same values.
      const auto init = random_vector<T>(out_size, ++seed);
      std::vector<T> out = init;
      cpu::binary<T>({}, op, it, a.data(), b.data(), out.data());
      DeviceBuffer<T> d_out(init);
      cuda::binary<T>({}, op, it, d_a.get(), d_b.get(), d_out.get());
      EXPECT_TRUE(all_close(d_out.download(), to_double(out), tol, tol));
    }
  }
}

TEST(ElementwiseCuda, StridedCopyMatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  // in [37, 41] stored transposed; out contiguous; 8-byte elements.
  std::vector<uint64_t> in(37 * 41);
  for (size_t i = 0; i < in.size(); ++i) in[i] = 1000 + i * 7;
  StridedIter<2> it;
  it.ndim = 2, it.numel = 37 * 41, it.sizes[0] = 37, it.sizes[1] = 41;
  it.strides[0][0] = 41, it.strides[0][1] = 1, it.strides[1][0] = 1, it.strides[1][1] = 37;
  std::vector<uint64_t> out(in.size());
  cpu::strided_copy<uint64_t>({}, it, in.data(), out.data());
  DeviceBuffer<uint64_t> d_in(in), d_out(in.size());
  cuda::strided_copy<uint64_t>({}, it, d_in.get(), d_out.get());
  EXPECT_EQ(d_out.download(), out);
}

TYPED_TEST(ElementwiseCudaTest, BinaryCrossEntropyWithLogitsMatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  const int64_t tasks = 7, n = 4099 * tasks;
  const auto x = random_vector<T>(n, 1, -30, 30), y = random_vector<T>(n, 2, 0, 1);
  const auto w = random_vector<T>(tasks, 3, 0.5, 3), dl = random_vector<T>(n, 4);
  DeviceBuffer<T> d_x(x), d_y(y), d_w(w), d_dl(dl);
  for (bool weighted : {false, true}) {
    std::vector<T> loss(n), dx(n);
    cpu::bce_with_logits<T>({}, n, tasks, x.data(), y.data(), weighted ? w.data() : nullptr,
                            loss.data());
    cpu::bce_with_logits_backward<T>({}, n, tasks, x.data(), y.data(),
                                     weighted ? w.data() : nullptr, dl.data(), dx.data());
    DeviceBuffer<T> d_loss(n), d_dx(n);
    const T* dw = weighted ? d_w.get() : nullptr;
    cuda::bce_with_logits<T>({}, n, tasks, d_x.get(), d_y.get(), dw, d_loss.get());
    cuda::bce_with_logits_backward<T>({}, n, tasks, d_x.get(), d_y.get(), dw, d_dl.get(),
                                      d_dx.get());
    EXPECT_TRUE(all_close(d_loss.download(), to_double(loss), tol, tol)) << "loss " << weighted;
    EXPECT_TRUE(all_close(d_dx.download(), to_double(dx), tol, tol)) << "gradient " << weighted;
  }
}

}  // namespace
}  // namespace strand::kernels
